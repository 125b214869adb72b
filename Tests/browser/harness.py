"""The browser tests' world: a fake Twilio REST API, `replyline serve` with two businesses,
staff accounts, signed webhooks and status callbacks, the JSON API, plain HTTP with a
session cookie, and a headless Chromium driven by Selenium.

Everything listens on and talks to 127.0.0.1 only; every HTTP call and every wait has a
bound; every process started here is recorded by pid and killed at the end (or by the
watchdog in run.py).
"""
import base64
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "browser-test-auth-token-0123456789ab"
ACCOUNT_SID = "AC" + "b7" * 16
HTTP_TIMEOUT = 10          # seconds, every HTTP call
START_TIMEOUT = 60         # seconds for a server to answer /healthz (a debug build, maybe PostgreSQL)
PASSWORD = "correct horse battery staple 19"


def log(message):
    print(f"[browser-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------
# Processes: only what we started, killed by pid (or by the process group we created).

CHILDREN = {}          # pid -> (Popen or None, is_group_leader)
CHILDREN_LOCK = threading.Lock()


def track(pid, process=None, group=False):
    with CHILDREN_LOCK:
        CHILDREN[pid] = (process, group)


def untrack(pid):
    with CHILDREN_LOCK:
        CHILDREN.pop(pid, None)


def kill_children():
    with CHILDREN_LOCK:
        items = list(CHILDREN.items())
        CHILDREN.clear()
    for pid, (process, group) in items:
        try:
            if group:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if process is not None:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


# ---------------------------------------------------------------------------------------
# HTTP


@dataclass
class Answer:
    status: int
    headers: dict          # lower-case names; repeated headers joined with "\n"
    body: bytes

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def cookies(self):
        """Set-Cookie name -> value."""
        jar = {}
        for line in self.headers.get("set-cookie", "").split("\n"):
            if "=" in line:
                name, value = line.split(";", 1)[0].split("=", 1)
                jar[name.strip()] = value.strip()
        return jar


def http_request(port, method, path, body=b"", headers=None, timeout=HTTP_TIMEOUT):
    """One request on its own connection; redirects are not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        merged = {}
        for name, value in response.getheaders():
            key = name.lower()
            merged[key] = merged[key] + "\n" + value if key in merged else value
        return Answer(response.status, merged, response.read())
    finally:
        conn.close()


def probe_stream(port, path, jar, timeout=5):
    """The status line and content type of a streaming response (its body is not read)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie_header(jar), "Accept": "text/event-stream"})
        response = conn.getresponse()
        return f"{response.status} {response.reason}, Content-Type {response.getheader('Content-Type')!r}"
    except (OSError, http.client.HTTPException) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        conn.close()


def cookie_header(jar):
    return "; ".join(f"{k}={v}" for k, v in jar.items())


# ---------------------------------------------------------------------------------------
# Fake Twilio


class FakeTwilio:
    """Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json` on 127.0.0.1: records every
    request (To, From, Body, StatusCallback, the sid it answered) and answers 201 with
    status `queued`. Tests wait on what it received."""

    def __init__(self):
        self.cond = threading.Condition()
        self.requests = []
        self.problems = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
                expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{TOKEN}".encode()).decode()
                match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", self.path)
                if not match or self.headers.get("Authorization") != expected_auth:
                    with fake.cond:
                        fake.problems.append(f"{self.path} with Authorization {self.headers.get('Authorization')!r}")
                    self.answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return
                record = {
                    "account": match.group(1), "to": form.get("To"), "from": form.get("From"),
                    "messaging_service": form.get("MessagingServiceSid"), "body": form.get("Body"),
                    "callback": form.get("StatusCallback"), "sid": "SM" + uuid.uuid4().hex, "at": time.time(),
                }
                with fake.cond:
                    fake.requests.append(record)
                    fake.cond.notify_all()
                self.answer(201, {"sid": record["sid"], "status": "queued", "to": record["to"], "body": record["body"]})

            def answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def snapshot(self):
        with self.cond:
            return [dict(r) for r in self.requests]

    def wait_for(self, predicate, timeout, what):
        """The first request matching `predicate`, waiting up to `timeout` seconds."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for record in self.requests:
                    if predicate(record):
                        return dict(record)
                left = deadline - time.time()
                if left <= 0:
                    seen = [(r["to"], r["body"]) for r in self.requests[-8:]]
                    raise AssertionError(f"the fake Twilio did not receive {what} within {timeout} s; "
                                         f"its last requests (to, body): {seen}; problems: {self.problems[-3:]}")
                self.cond.wait(min(left, 0.5))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------
# Businesses, config, server


@dataclass
class Business:
    id: str
    rules: str             # a file under Rules/
    number: str
    name: str
    time_zone: str
    api_key: str
    key_env: str


BUSINESSES = [
    Business("bright-smile", "default.yml", "+15017122661", "Bright Smile Dental", "America/New_York",
             "rl_browser_bright_0123456789abcdef", "BROWSER_TEST_KEY_BRIGHT"),
    Business("maple-salon", "salon.yml", "+13125550190", "Maple & Co Salon", "America/Chicago",
             "rl_browser_maple_0123456789abcdef", "BROWSER_TEST_KEY_MAPLE"),
]


def write_config(scratch):
    """Two businesses in one --config: each rules file open around the clock (so quiet
    hours never hold a confirmation request, whenever the run happens)."""
    lines = ["businesses:"]
    for business in BUSINESSES:
        text = (ROOT / "Rules" / business.rules).read_text()
        text, n = re.subn(r'(?m)^  hours: "[^"]*"', '  hours: "00:00-24:00"', text)
        if n != 1:
            raise SystemExit(f"Rules/{business.rules} has no `  hours:` line to open around the clock")
        path = Path(scratch) / f"{business.id}.yml"
        path.write_text(text)
        lines += [f"  - id: {business.id}", f"    rules: {path.name}", f'    numbers: ["{business.number}"]',
                  f"    api_key_env: {business.key_env}"]
    config = Path(scratch) / "replyline.yml"
    config.write_text("\n".join(lines) + "\n")
    return config


class Server:
    """One `replyline serve` on 127.0.0.1 with the two businesses, sending through the fake."""

    def __init__(self, name, binary, database, scratch, fake):
        self.name, self.binary, self.database = name, str(binary), database
        self.port = free_port()
        self.public_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(scratch) / f"{name}.log"
        self.config = write_config(scratch)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("TWILIO_WEBHOOK_SHARED_KEY", "REPLYLINE_DATABASE_URL", "REPLYLINE_METRICS_TOKEN")
                    and not k.startswith("REPLYLINE_API_KEY")}
        self.env.update(TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID=ACCOUNT_SID)
        for business in BUSINESSES:
            self.env[business.key_env] = business.api_key
        self.command = [
            self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--database", database,
            "--public-url", self.public_url, "--config", str(self.config), "--twilio-api-url",
            f"http://127.0.0.1:{fake.port}", "--api-rate-limit", "1000", "--instance-id", f"browser-{name}",
        ]
        self.process = None
        self.validator = RequestValidator(TOKEN)

    def start(self):
        with open(self.log_path, "ab") as logfile:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=logfile, stderr=logfile,
                                            stdin=subprocess.DEVNULL, cwd=str(ROOT))
        track(self.process.pid, self.process)
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name}: replyline serve exited with {self.process.returncode} at start "
                                 f"({' '.join(self.command)}); its log:\n{tail(self.log_path)}")
            try:
                if http_request(self.port, "GET", "/healthz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.name}: replyline serve did not answer /healthz within {START_TIMEOUT} s; "
                         f"log:\n{tail(self.log_path)}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process:
            untrack(self.process.pid)

    # -- staff ------------------------------------------------------------------------

    def staff(self, *arguments, password=None):
        """`replyline staff ...` on this server's database; the CompletedProcess."""
        command = [self.binary, "staff", *arguments, "--database", self.database, "--config", str(self.config)]
        return subprocess.run(command, input=(password + "\n") if password is not None else None, text=True,
                              capture_output=True, timeout=60, env=self.env, cwd=str(ROOT))

    def add_staff(self, business, email, password=PASSWORD):
        out = self.staff("add", "--business", business.id, "--email", email, "--password-stdin", password=password)
        if out.returncode != 0:
            raise SystemExit(f"`replyline staff add --business {business.id} --email {email} --password-stdin` "
                             f"failed ({out.returncode}):\n{out.stdout}{out.stderr}")
        return email

    # -- Twilio webhooks --------------------------------------------------------------

    def inbound(self, business, phone, body, media=()):
        """A signed inbound text; the Answer (200 with TwiML)."""
        sid = "SM" + uuid.uuid4().hex
        params = [("MessageSid", sid), ("SmsSid", sid), ("SmsMessageSid", sid), ("AccountSid", ACCOUNT_SID),
                  ("From", phone), ("To", business.number), ("Body", body), ("NumMedia", str(len(media))),
                  ("NumSegments", "1"), ("SmsStatus", "received"), ("ApiVersion", "2010-04-01"),
                  ("FromCountry", "US"), ("ToCountry", "US")]
        for i, (url, content_type) in enumerate(media):
            params += [(f"MediaUrl{i}", url), (f"MediaContentType{i}", content_type)]
        path = "/webhooks/twilio/messages"
        signature = self.validator.compute_signature(self.public_url + path, dict(params))
        answer = http_request(self.port, "POST", path, urllib.parse.urlencode(params).encode(),
                              {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
        if answer.status != 200:
            raise AssertionError(f"inbound webhook {body!r} from {phone} to {business.id} answered {answer.status}: "
                                 f"{answer.text[:300]}")
        return answer

    def status_callback(self, record, status, error_code=None):
        """A signed status callback for what the fake received (`record`), to its StatusCallback URL."""
        callback = record["callback"] or (self.public_url + "/webhooks/twilio/status")
        parsed = urllib.parse.urlparse(callback)
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        params = [("MessageSid", record["sid"]), ("SmsSid", record["sid"]), ("MessageStatus", status),
                  ("SmsStatus", status), ("AccountSid", ACCOUNT_SID), ("From", record["from"] or ""),
                  ("To", record["to"]), ("ApiVersion", "2010-04-01")]
        if error_code:
            params.append(("ErrorCode", str(error_code)))
        signature = self.validator.compute_signature(self.public_url + path, dict(params))
        answer = http_request(self.port, "POST", path, urllib.parse.urlencode(params).encode(),
                              {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
        if answer.status not in (200, 204):
            raise AssertionError(f"status callback {status} for {record['sid']} answered {answer.status}: {answer.text[:300]}")
        return answer

    # -- JSON API ---------------------------------------------------------------------

    def api(self, business, method, path, payload=None, expect=None):
        body = json.dumps(payload).encode() if payload is not None else b""
        answer = http_request(self.port, method, "/api/v1" + path, body,
                              {"Authorization": f"Bearer {business.api_key}", "Content-Type": "application/json"})
        if expect is not None and answer.status != expect:
            raise AssertionError(f"{method} /api/v1{path} as {business.id} answered {answer.status}, expected {expect}: "
                                 f"{answer.text[:300]}")
        return json.loads(answer.body) if answer.body and answer.headers.get("content-type", "").startswith("application/json") else answer

    def messages(self, business, phone):
        """The thread's messages through the API (oldest first)."""
        page = self.api(business, "GET", f"/conversations/{urllib.parse.quote(phone, safe='')}/messages?limit=200", expect=200)
        return page.get("messages", page.get("items", page.get("data", []))) if isinstance(page, dict) else page

    # -- pages over plain HTTP (for what a browser won't do: forged forms) -----------

    def sign_in_http(self, email, password=PASSWORD):
        """Signs in like the form does; the cookie jar (name -> value) of the session."""
        page = http_request(self.port, "GET", "/login")
        jar = page.cookies()
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        if page.status != 200 or not token:
            raise AssertionError(f"GET /login answered {page.status} without a csrf_token field: {page.text[:300]}")
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token.group(1), "next": "/"})
        answer = http_request(self.port, "POST", "/login", form.encode(),
                              {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header(jar)})
        if answer.status != 303:
            raise AssertionError(f"POST /login for {email} answered {answer.status}, expected 303: {answer.text[:300]}")
        jar.update(answer.cookies())
        jar = {k: v for k, v in jar.items() if v}
        return jar

    def page(self, method, path, jar=None, form=None, headers=None):
        headers = dict(headers or {})
        if jar:
            headers["Cookie"] = cookie_header(jar)
        body = b""
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return http_request(self.port, method, path, body, headers)


def csrf_of(html):
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    return found.group(1) if found else None


def thread_path(phone):
    return "/conversations/" + urllib.parse.quote(phone, safe="")


# ---------------------------------------------------------------------------------------
# PostgreSQL databases (scripts/postgres run gives one cluster; each server gets its own database)


def postgres_database(base_url, name):
    out = subprocess.run(["psql", base_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", f'CREATE DATABASE "{name}"'],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"psql could not create the database {name}: {out.stderr.strip()}")
    return urllib.parse.urlparse(base_url)._replace(path="/" + name).geturl()


# ---------------------------------------------------------------------------------------
# The server's segment rules (Sources/ReplylineCore/Text/Segments.swift), as the oracle for
# the compose box's counter.

GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[]~|€\f")


def segment_count(text):
    """(encoding, units, segments) the way carriers bill it: GSM-7 160/153, UCS-2 70/67,
    an escape pair or a surrogate pair never split."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        widths, single, multi, encoding = [2 if ch in GSM_EXTENDED else 1 for ch in text], 160, 153, "GSM-7"
    else:
        widths, single, multi, encoding = [len(ch.encode("utf-16-le")) // 2 for ch in text], 70, 67, "UCS-2"
    total = sum(widths)
    if total <= single:
        return encoding, total, (0 if total == 0 else 1)
    parts, used = 1, 0
    for width in widths:
        if used + width > multi:
            parts, used = parts + 1, 0
        used += width
    return encoding, total, parts


# ---------------------------------------------------------------------------------------
# The browser

# Run before any page script: records every EventSource the page opens, so a test can wait
# until the live stream is connected before it makes something happen.
EVENTSOURCE_PROBE = """
(() => {
  const Original = window.EventSource;
  if (!Original || Original.__probed) return;
  window.__eventSources = [];
  function Probed(url, init) {
    const source = new Original(url, init);
    window.__eventSources.push(source);
    return source;
  }
  Probed.prototype = Original.prototype;
  Probed.CONNECTING = 0; Probed.OPEN = 1; Probed.CLOSED = 2; Probed.__probed = true;
  window.EventSource = Probed;
})();
"""


def start_browser(download_dir):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,800", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--metrics-recording-only", "--password-store=basic", "--lang=en-US"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                              "credentials_enable_service": False,
                                              "profile.password_manager_enabled": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Leave alerts open, so a test can see one an injected script would raise.
    options.unhandled_prompt_behavior = "ignore"
    service = Service(executable_path="/usr/bin/chromedriver", log_output=subprocess.DEVNULL,
                      popen_kw={"start_new_session": True})
    driver = webdriver.Chrome(service=service, options=options)
    # chromedriver leads its own process group, which holds the Chromium processes too.
    track(service.process.pid, None, group=True)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": EVENTSOURCE_PROBE})
    return driver


def stop_browser(driver):
    pid = driver.service.process.pid if driver.service and driver.service.process else None
    done = threading.Event()

    def quit_it():
        try:
            driver.quit()
        finally:
            done.set()
    threading.Thread(target=quit_it, daemon=True).start()
    done.wait(20)
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        untrack(pid)


def remove(path):
    shutil.rmtree(path, ignore_errors=True)
