import Hummingbird
import NIOCore
import ReplylineStore
import ServiceLifecycle

/// `GET /events`: a business's inbox events as Server-Sent Events, for the staff pages'
/// live updates (docs: the web contract's "Live updates"). Each event is a frame with the
/// hub's number as `id`, its kind as `event` and `{"phone":"+1…"}` as `data`; a page
/// fetches what changed itself. Nothing is replayed after a reconnect: the page refreshes
/// once instead.
///
/// A stream ends when its client goes away or the server shuts down gracefully, so
/// open streams never hold up a SIGTERM.
public struct LiveEvents: Sendable {
    let store: any ConversationStore
    /// How often a comment line keeps an idle stream (and the proxies on its way) open.
    let keepAlive: Duration
    /// How long a stream gathers events after writing some, so a burst is written in a few
    /// writes rather than one per event (and per stream).
    let gathering: Duration

    public init(store: any ConversationStore, keepAlive: Duration = .seconds(15), gathering: Duration = .milliseconds(200)) {
        self.store = store
        self.keepAlive = keepAlive
        self.gathering = gathering
    }

    /// The stream of `businessID`'s events from now on, for a signed-in member of its staff.
    public func eventStream(businessID: String) async -> Response {
        let subscription = await store.inboxEvents(businessID: businessID)
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody { [keepAlive, gathering] writer in
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                try await withGracefulShutdownHandler {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            while true {
                                try await Task.sleep(for: keepAlive)
                                subscription.wake()
                            }
                        }
                        for await events in subscription {
                            try await writer.write(Self.frames(events))
                            if !events.isEmpty { try? await Task.sleep(for: gathering) }
                        }
                        group.cancelAll()
                    }
                } onGracefulShutdown: {
                    subscription.finish()
                }
                try await writer.finish(nil)
            })
    }

    /// The most frames one write carries: a stream that fell further behind (a burst of
    /// webhooks) gets the newest, enough for a page that refreshes on any event, and a
    /// burst costs each stream a few small writes.
    static let framesPerWrite = 8

    /// The frames of `events` (the newest `framesPerWrite`), or a keep-alive comment when
    /// there are none.
    static func frames(_ events: [InboxEventHub.Numbered]) -> ByteBuffer {
        guard !events.isEmpty else { return ByteBuffer(string: ": keep-alive\n\n") }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64 * min(events.count, framesPerWrite))
        for numbered in events.suffix(framesPerWrite) {
            buffer.writeString("id: \(numbered.number)\nevent: \(numbered.event.kind.rawValue)\ndata: {\"phone\":")
            buffer.writeString(jsonString(numbered.event.phone))
            buffer.writeString("}\n\n")
        }
        return buffer
    }

    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped,
    /// so no value can end a frame or break out of its field.
    static func jsonString(_ text: String) -> String {
        // A phone number (E.164) needs no escaping: printable ASCII without quotes.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            return "\"" + text + "\""
        }
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20 || scalar == "\u{2028}" || scalar == "\u{2029}":
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
