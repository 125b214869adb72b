# Replyline's container image, in the shape of the Hummingbird project template's:
# a Swift build image makes a release binary with the Swift runtime linked in statically,
# and a slim Debian image runs it with the few shared libraries it still needs.
#
#   docker build -t replyline .
#   docker run -p 8080:8080 -v replyline-data:/data --env-file replyline.env replyline \
#       serve --host 0.0.0.0 --port 8080 --database /data/replyline.sqlite --public-url https://sms.example.com
#
# Not built on the project's machines (they have no container engine and no registry);
# scripts/check-deploy checks what it can: a binary runs from a folder holding only it
# and the libraries of RUNTIME_PACKAGES below. See docs/going-live.md, "Docker".

# ================================
# Build image
# ================================
# Debian 12 (bookworm), as the runtime image below: the binary links the system's glibc
# and SQLite, so both stages must be the same release. The toolchain is the one the
# project is built and tested with (6.3.1); the package needs 6.1 or newer.
FROM swift:6.3-bookworm AS build

RUN export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
    && apt-get -q update \
    && apt-get -q dist-upgrade -y \
    && apt-get -q install -y libsqlite3-dev libcurl4-openssl-dev libxml2-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Resolve dependencies first: a cached layer while Package.swift does not change.
COPY ./Package.* ./
RUN swift package resolve

COPY . .

# Optimized, with the Swift standard library and Foundation linked in statically.
RUN swift build -c release --product replyline --static-swift-stdlib

WORKDIR /staging

# The executable, the static crash backtracer, SwiftPM's resource bundles (the OpenAPI
# document is one: without it /api/v1/openapi.json answers an error), and the shipped
# rules, which `serve` reads from Rules/default.yml unless --rules says otherwise.
RUN cp "$(swift build --package-path /build -c release --show-bin-path)/replyline" ./ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static ./ \
    && find -L "$(swift build --package-path /build -c release --show-bin-path)/" -regex '.*\.resources$' -exec cp -Ra {} ./ \; \
    && cp -R /build/Rules ./Rules

# ================================
# Run image
# ================================
FROM debian:bookworm-slim

# Everything the binary needs beyond the base image: SQLite (linked dynamically, the
# system's), CA certificates (the Twilio REST API is HTTPS), time zone data (business
# hours and reminders are local times). scripts/check-deploy reads this line.
ARG RUNTIME_PACKAGES="libsqlite3-0 ca-certificates tzdata"

RUN export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
    && apt-get -q update \
    && apt-get -q dist-upgrade -y \
    && apt-get -q install -y --no-install-recommends $RUNTIME_PACKAGES \
    && rm -rf /var/lib/apt/lists/*

# A system user and group; the program's files stay root's and read-only to it.
RUN useradd --user-group --system --no-create-home --home-dir /data --shell /usr/sbin/nologin replyline \
    && install -d -o replyline -g replyline -m 0750 /data

WORKDIR /app
COPY --from=build /staging /app

# The database: replyline.sqlite and its -wal and -shm files. Back it up with
# `docker exec CONTAINER ./replyline backup --database /data/replyline.sqlite /data/backup.sqlite`.
VOLUME /data

# The crash reporter's settings, as in the Hummingbird template.
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=./swift-backtrace-static

USER replyline:replyline

EXPOSE 8080

# The container stops with SIGTERM, on which serve finishes in-flight requests and the
# send in progress; give it time (docker stop --time 30).
STOPSIGNAL SIGTERM
ENTRYPOINT ["./replyline"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--database", "/data/replyline.sqlite"]
