"""Browser tests of the staff web inbox (issue 19), against the HTML contract in
/work/notes/web-contract.md: a real `replyline serve`, a fake Twilio, headless Chromium.

Run through scripts/browser-test (which sets up WORLD via run.py); the tests run in the
order run.py lists them. Waits are conditions (WebDriverWait on the page's state), never
fixed sleeps; a failure says what was expected and what the page showed.
"""
import html.parser
import re
import shutil
import time
import unittest
import urllib.parse
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from selenium.common.exceptions import (NoAlertPresentException, StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

import harness
from harness import BUSINESSES, PASSWORD, csrf_of, segment_count, thread_path

B1, B2 = BUSINESSES
WORLD = None       # set by run.py

LIVE_TIMEOUT = 8   # seconds for a live change to show (the issue asks for one; this bounds a slow CI)
PAGE_TIMEOUT = 10

# Business 1's seeded contacts (realistic, for the screenshots) and the ones tests make.
ANA, BO, PRIYA, MARCUS, WALKIN = "+14155550100", "+14155550111", "+16465550142", "+13475550175", "+12125550199"
BARRIER = "+14155550198"          # a contact that only receives the outbox barrier's messages
JORDAN = "+17735550123"           # exists only in business 2


def unique():
    return uuid.uuid4().hex[:6]


def local_time(business, days, hour, minute=0):
    """An RFC 3339 time `days` from today at hour:minute in the business's zone."""
    zone = ZoneInfo(business.time_zone)
    day = datetime.now(zone) + timedelta(days=days)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).isoformat()


class InlineCode(html.parser.HTMLParser):
    """Collects what the CSP forbids in markup: inline <script>, <style>, style= and on…= attributes."""

    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        names = [name for name, _ in attrs]
        if tag == "script" and "src" not in names:
            self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")


def inline_code(text):
    parser = InlineCode()
    parser.feed(text)
    return parser.problems


class World:
    """What every test shares: the servers, the fake Twilio, the browser, the seeded data."""

    def __init__(self, fake, main, auth, driver, screenshots, update_docs):
        self.fake, self.main, self.auth, self.driver = fake, main, auth, driver
        self.screenshots, self.update_docs = screenshots, update_docs
        self.console = []                 # (test, level, message) from Chromium's console
        self.staff1 = "front@bright-smile.test"
        self.staff2 = "desk@maple-salon.test"
        self.auth_staff = "alice@bright-smile.test"
        self.jordan_appointment = None
        self.notes = []                   # observations for the report (not failures)

    def note(self, text):
        self.notes.append(text)
        harness.log("note: " + text)

    def seed(self):
        """Business 1: a few clients in the states a front desk sees; business 2: one client."""
        main, fake = self.main, self.fake
        main.add_staff(B1, self.staff1)
        main.add_staff(B2, self.staff2)
        self.auth.add_staff(B1, self.auth_staff)

        def appointment(business, phone, name, service, days, hour, minute=0):
            answer = main.api(business, "POST", "/appointments", {
                "phone": phone, "customer_name": name, "service": service,
                "starts_at": local_time(business, days, hour, minute)}, expect=201)
            return answer["id"]

        def confirmation(phone):
            return fake.wait_for(lambda r: r["to"] == phone, 20, f"the confirmation request to {phone}")

        appointment(B1, ANA, "Ana Ruiz", "Cleaning", 2, 10)
        appointment(B1, BO, "Bo Chen", "Whitening", 3, 15)
        appointment(B1, PRIYA, "Priya Shah", "Checkup", 1, 16, 30)
        appointment(B1, MARCUS, "Marcus Lee", "Crown fitting", 4, 11)
        self.jordan_appointment = appointment(B2, JORDAN, "Jordan Park", "Balayage", 2, 13)
        for phone in (ANA, BO, PRIYA, MARCUS, JORDAN):
            record = confirmation(phone)
            if phone == MARCUS:
                main.status_callback(record, "sent")
                main.status_callback(record, "undelivered", error_code=30006)
            else:
                main.status_callback(record, "sent")
                main.status_callback(record, "delivered")
        main.inbound(B1, PRIYA, "C")
        main.inbound(B1, BO, "STOP")
        main.inbound(B2, JORDAN, "Can I move it to Saturday morning?")
        main.inbound(B1, ANA, "R")
        reply = "Sure! We have Thu at 2:30 PM or Fri at 9 AM. Which works better?"
        main.api(B1, "POST", f"/conversations/{urllib.parse.quote(ANA, safe='')}/messages", {"body": reply}, expect=201)
        record = fake.wait_for(lambda r: r["to"] == ANA and r["body"] == reply, 20, "the staff reply to Ana")
        main.status_callback(record, "sent")
        main.status_callback(record, "delivered")
        main.inbound(B1, WALKIN, "Hi! Do you have parking near the office?")
        main.inbound(B1, ANA, "Fri at 9 works, thank you 😊")

    def barrier(self):
        """Waits until the outbox has sent everything queued before now: a fresh message to
        BARRIER goes through the same outbox, after whatever was queued earlier."""
        body = f"barrier {unique()}"
        self.main.api(B1, "POST", f"/conversations/{urllib.parse.quote(BARRIER, safe='')}/messages", {"body": body}, expect=201)
        self.fake.wait_for(lambda r: r["to"] == BARRIER and r["body"] == body, 20, "the outbox barrier message")


class BrowserCase(unittest.TestCase):
    """Helpers over the shared browser; `server` is the server the test's pages come from."""

    server_name = "main"

    def shortDescription(self):
        return None       # name tests by their method names in the report

    @property
    def w(self):
        return WORLD

    @property
    def d(self):
        return WORLD.driver

    @property
    def server(self):
        return getattr(WORLD, self.server_name)

    def tearDown(self):
        try:
            for entry in self.d.get_log("browser"):
                WORLD.console.append((self.id().split(".")[-1], entry.get("level"), entry.get("message", "")))
        except WebDriverException:
            pass

    # -- navigation and state ----------------------------------------------------------

    def url(self, path):
        return self.server.public_url + path

    def go(self, path):
        self.d.get(self.url(path))
        self.wait_js("return document.readyState === 'complete'", "the page to load", PAGE_TIMEOUT)

    def path(self):
        parsed = urllib.parse.urlparse(self.d.current_url)
        return parsed.path + (f"?{parsed.query}" if parsed.query else "")

    def nav_status(self):
        """The HTTP status of the document now shown (Navigation Timing's responseStatus)."""
        return self.d.execute_script(
            "const e = performance.getEntriesByType('navigation')[0]; return e ? e.responseStatus : null")

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def shown(self, css=None):
        """What the page shows, for failure messages."""
        try:
            info = self.js("""
                const part = arguments[0] ? document.querySelector(arguments[0]) : null;
                const text = (part || document.body || document.documentElement).innerText || '';
                return [location.href, document.title, document.body ? document.body.className : '', text.slice(0, 1500)];""",
                           css)
            return (f"\n  url: {info[0]}\n  title: {info[1]!r}\n  body class: {info[2]!r}\n  "
                    f"{'text of ' + css if css else 'text'}: {info[3]!r}")
        except WebDriverException as error:
            return f" (could not read the page: {error.msg})"

    def wait_js(self, script, expected, timeout=PAGE_TIMEOUT, css=None, *args):
        """Waits until `script` returns something truthy; returns it."""
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(script, *args))
        except TimeoutException:
            self.fail(f"expected {expected} within {timeout} s; the page showed:{self.shown(css)}")

    def wait_path(self, path, timeout=PAGE_TIMEOUT):
        self.wait_js("return location.pathname === arguments[0] && document.readyState === 'complete'",
                     f"to be on {path}", timeout, None, path)

    def wait_live(self):
        """Until the page's EventSource on /events is open (app.js connected)."""
        script = "return (window.__eventSources || []).some(s => s.readyState === 1)"
        try:
            WebDriverWait(self.d, PAGE_TIMEOUT, poll_frequency=0.1).until(lambda d: d.execute_script(script))
        except TimeoutException:
            sources = self.js("return (window.__eventSources || []).map(s => [s.url, s.readyState])")
            probe = harness.probe_stream(self.server.port, "/events", self.jar())
            self.fail(f"expected the page's live stream (EventSource /events) to be open within {PAGE_TIMEOUT} s; "
                      f"the page's EventSources (url, readyState): {sources}; GET /events with the page's cookie "
                      f"answers: {probe}")

    def mark(self):
        self.js("window.__marker = 1")

    def assert_not_reloaded(self):
        self.assertEqual(self.js("return window.__marker"), 1,
                         f"the page was reloaded or navigated (the marker set on it is gone):{self.shown()}")

    def sign_in(self, email, password=PASSWORD):
        """Signs in through the form if the browser is not signed in already."""
        self.go("/")
        if urllib.parse.urlparse(self.d.current_url).path == "/login":
            self.fill_sign_in(email, password)
            self.wait_js("return document.body && document.body.classList.contains('page-inbox')",
                         f"the inbox after signing in as {email}", PAGE_TIMEOUT)

    def fill_sign_in(self, email, password):
        form = self.d.find_element(By.CSS_SELECTOR, "form#sign-in")
        email_field = form.find_element(By.CSS_SELECTOR, "input#email[name=email]")
        email_field.clear()
        email_field.send_keys(email)
        password_field = form.find_element(By.CSS_SELECTOR, "input#password[name=password]")
        password_field.clear()
        password_field.send_keys(password)
        self.js("window.__submitted = 1")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait_js("return window.__submitted === undefined && document.readyState === 'complete'",
                     "the sign-in form's answer", 30)

    def clear_cookies(self):
        self.d.execute_cdp_cmd("Network.clearBrowserCookies", {})

    def jar(self):
        """The browser's cookies for the server (the session, for forged requests)."""
        return {c["name"]: c["value"] for c in self.d.get_cookies()}

    def csrf(self):
        return self.js("const m = document.querySelector('meta[name=csrf-token]'); return m ? m.content : null")

    def screenshot(self, name):
        path = WORLD.screenshots / name
        self.d.save_screenshot(str(path))
        return path

    def set_viewport(self, width, height, mobile=False):
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile})

    def message_badge(self, text):
        """(class, text) of the status badge of the outbound message whose body is `text`."""
        return self.js("""
            const li = [...document.querySelectorAll('#messages li.message.outbound')]
              .find(li => (li.querySelector('div.body') || {}).textContent === arguments[0]);
            const badge = li && li.querySelector('details.status > summary.badge');
            return badge ? [badge.className, badge.textContent.trim()] : null;""", text)

    def retrying(self, action, attempts=3):
        """Runs a Selenium action again when a live refresh replaced its element underneath."""
        for attempt in range(attempts):
            try:
                return action()
            except StaleElementReferenceException:
                if attempt == attempts - 1:
                    raise

    def title_unread(self):
        found = re.match(r"^\((\d+)\) ", self.d.title)
        return int(found.group(1)) if found else 0


# ---------------------------------------------------------------------------------------
# Sign-in (on a server of its own: failures are counted per address, and every request
# here comes from 127.0.0.1)


class SignInTests(BrowserCase):
    server_name = "auth"

    @classmethod
    def setUpClass(cls):
        WORLD.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    @classmethod
    def tearDownClass(cls):
        WORLD.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    def test_signed_out_visit_goes_to_login(self):
        self.clear_cookies()
        self.go("/")
        self.wait_path("/login")
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.d.current_url).query)
        self.assertEqual(query.get("next"), ["/"], f"a signed-out visit to / should go to /login?next=/:{self.shown()}")
        self.assertTrue(self.js("return document.body.classList.contains('page-login')"), self.shown())
        self.assertIsNone(self.csrf(), "a signed-out page must not carry the session's csrf-token meta")
        for css in ("form#sign-in input#email[name=email]", "form#sign-in input#password[name=password][type=password]",
                    "form#sign-in input[type=hidden][name=csrf_token]", "form#sign-in button[type=submit]"):
            self.assertTrue(self.d.find_elements(By.CSS_SELECTOR, css), f"the sign-in page has no {css}:{self.shown()}")
        self.screenshot("login-desktop.png")
        # A deeper page: sign-in leads back to it.
        self.go("/new")
        self.wait_path("/login")
        self.assertIn("next=%2Fnew", self.d.current_url)
        self.fill_sign_in(WORLD.auth_staff, PASSWORD)
        self.wait_path("/new")
        self.assertTrue(self.js("return document.body.classList.contains('page-new')"), self.shown())
        # A POST while signed out is refused.
        for path, form in (("/new", {"phone": "+14155550100", "body": "signed out", "csrf_token": "x"}),
                           (thread_path("+14155550100") + "/messages", {"body": "signed out", "csrf_token": "x"})):
            answer = self.server.page("POST", path, form=form)
            self.assertEqual(answer.status, 403, f"a signed-out POST {path}: expected 403, got {answer.status}: {answer.text[:300]}")

    def test_sign_in_and_sign_out(self):
        self.clear_cookies()
        self.go("/login")
        self.fill_sign_in(WORLD.auth_staff, PASSWORD)
        self.wait_path("/")
        self.assertTrue(self.js("return document.body.classList.contains('page-inbox')"), self.shown())
        header = self.js("const h = document.querySelector('header.top form.sign-out'); return h ? h.innerText : null")
        self.assertIsNotNone(header, f"no header.top form.sign-out:{self.shown()}")
        self.assertIn(WORLD.auth_staff, header, "the sign-out form should show the staff email")
        self.assertTrue(self.csrf(), "a signed-in page carries <meta name=csrf-token>")
        cookie = self.d.get_cookie("replyline_session")
        self.assertIsNotNone(cookie, f"no session cookie after sign-in; cookies: {self.d.get_cookies()}")
        self.assertTrue(cookie.get("httpOnly"), f"the session cookie must be HttpOnly: {cookie}")
        self.assertEqual(cookie.get("sameSite"), "Lax", f"the session cookie must be SameSite=Lax: {cookie}")
        old = cookie["value"]
        # Sign out with the header's button.
        self.d.find_element(By.CSS_SELECTOR, "header.top form.sign-out button[type=submit]").click()
        self.wait_path("/login")
        # The old cookie is worth nothing now.
        answer = self.server.page("GET", "/", jar={"replyline_session": old})
        self.assertEqual(answer.status, 303, f"GET / with the signed-out session's cookie: expected 303 to /login, "
                                             f"got {answer.status}: {answer.text[:200]}")
        self.assertTrue(answer.headers.get("location", "").startswith("/login"), answer.headers)
        answer = self.server.page("GET", "/events", jar={"replyline_session": old})
        self.assertNotEqual(answer.status, 200, "GET /events with a signed-out session's cookie must not stream")
        self.go("/")
        self.wait_path("/login")
        # A new session id at every sign-in.
        self.fill_sign_in(WORLD.auth_staff, PASSWORD)
        self.wait_path("/")
        self.assertNotEqual(self.d.get_cookie("replyline_session")["value"], old, "sign-in must make a new session id")
        self.d.find_element(By.CSS_SELECTOR, "header.top form.sign-out button[type=submit]").click()
        self.wait_path("/login")

    def test_wrong_password_then_rate_limit(self):
        """Five failures from one address in a minute (wrong passwords, an unknown email): all
        401 with one generic message; the sixth attempt is 429 with the wait, even with the
        right password."""
        self.clear_cookies()
        self.go("/login")
        messages = []
        attempts = [(WORLD.auth_staff, "wrong password"), ("nobody@bright-smile.test", PASSWORD),
                    (WORLD.auth_staff, "wrong 2"), (WORLD.auth_staff, "wrong 3"), (WORLD.auth_staff, "wrong 4")]
        for n, (email, password) in enumerate(attempts, start=1):
            self.fill_sign_in(email, password)
            status = self.nav_status()
            error = self.js("const e = document.querySelector('p.form-error[role=alert]'); return e ? e.textContent.trim() : null")
            self.assertEqual(status, 401, f"failed sign-in {n} ({email}): expected 401, got {status}:{self.shown()}")
            self.assertTrue(error, f"failed sign-in {n}: no p.form-error[role=alert]:{self.shown()}")
            self.assertEqual(urllib.parse.urlparse(self.d.current_url).path, "/login")
            messages.append(error)
        self.assertEqual(len(set(messages)), 1,
                         f"a wrong password and an unknown email must give the same message; got {messages}")
        self.assertNotRegex(messages[0].lower(), r"no such|not found|unknown|does not exist|exists",
                            "the message must not hint whether the account exists")
        self.fill_sign_in(WORLD.auth_staff, "wrong 5")
        status = self.nav_status()
        error = self.js("const e = document.querySelector('p.form-error[role=alert]'); return e ? e.textContent.trim() : ''")
        self.assertEqual(status, 429, f"the 6th sign-in within a minute: expected 429, got {status}:{self.shown()}")
        wait = re.search(r"(\d+) seconds?", error)
        self.assertTrue(wait and 1 <= int(wait.group(1)) <= 60, f"the 429 page should say the wait in seconds: {error!r}")
        self.screenshot("login-429-desktop.png")
        # Even the right password waits: the limit comes before the password is checked.
        self.fill_sign_in(WORLD.auth_staff, PASSWORD)
        self.assertEqual(self.nav_status(), 429, f"the right password during the wait should still be 429:{self.shown()}")
        self.assertIsNone(self.d.get_cookie("replyline_session"), "no session during the wait")
        # Over HTTP: Retry-After carries the same wait.
        page = self.server.page("GET", "/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
        answer = self.server.page("POST", "/login", jar=page.cookies(),
                                  form={"email": WORLD.auth_staff, "password": "wrong", "csrf_token": token})
        self.assertEqual(answer.status, 429, answer.text[:300])
        self.assertRegex(answer.headers.get("retry-after", ""), r"^\d+$", f"429 without Retry-After: {answer.headers}")
        self.assertTrue(1 <= int(answer.headers["retry-after"]) <= 60, answer.headers)


# ---------------------------------------------------------------------------------------
# The inbox (main server, business 1's staff)


class InboxTests(BrowserCase):
    @classmethod
    def setUpClass(cls):
        WORLD.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    def setUp(self):
        self.set_viewport(1280, 800)
        self.sign_in(WORLD.staff1)

    # -- screenshots (first: the seeded inbox, before the other tests add contacts) -----

    def test_screenshots(self):
        shots = []
        for width, height, mobile, suffix in ((1280, 800, False, "desktop"), (375, 812, True, "375")):
            self.set_viewport(width, height, mobile)
            self.go("/")
            self.wait_js("return document.querySelectorAll('#conversations li.conversation').length >= 5",
                         "the seeded conversations in #conversations", PAGE_TIMEOUT, "#list")
            shots.append(self.screenshot(f"inbox-{suffix}.png"))
            overflow = self.js("return document.documentElement.scrollWidth")
            self.assertLessEqual(overflow, width + 1, f"the inbox at {width} px scrolls sideways ({overflow} px wide)")
            self.go(thread_path(ANA))
            self.wait_js("return document.querySelectorAll('#messages li.message').length >= 4",
                         "Ana's thread", PAGE_TIMEOUT, "#thread")
            shots.append(self.screenshot(f"thread-{suffix}.png"))
            overflow = self.js("return document.documentElement.scrollWidth")
            self.assertLessEqual(overflow, width + 1, f"the thread at {width} px scrolls sideways ({overflow} px wide)")
        self.set_viewport(1280, 800)
        if WORLD.update_docs:
            shutil.copyfile(WORLD.screenshots / "thread-desktop.png", harness.ROOT / "docs" / "inbox.png")
            harness.log("copied thread-desktop.png to docs/inbox.png")
        for shot in shots:
            self.assertGreater(shot.stat().st_size, 5000, f"{shot} looks empty")

    # -- live updates -------------------------------------------------------------------

    def test_inbound_appears_live_in_list(self):
        self.go("/")
        self.wait_live()
        unread_before = self.title_unread()
        chip_before = self.js("const c = document.querySelector('nav.filters a.filter[data-filter=unread] span.count');"
                              "return c ? parseInt(c.textContent, 10) : 0")
        self.mark()
        phone, body = "+14155550160", f"Hi, do you have anything open Saturday? ({unique()})"
        sent_at = time.time()
        WORLD.main.inbound(B1, phone, body)
        # The preview is the thread's last message: here the business's automatic
        # acknowledgement, which the webhook's transaction stored after the text.
        self.wait_js("""const row = document.querySelector('#conversations li.conversation');
                        return row && row.dataset.phone === arguments[0]
                          && !!(row.querySelector('span.preview') || {}).textContent;""",
                     f"a new first row for {phone} with a preview, without reload", LIVE_TIMEOUT, "#list", phone)
        latency = time.time() - sent_at
        self.assert_not_reloaded()
        WORLD.note(f"an inbound text showed in the open conversation list {latency:.2f} s after its webhook was answered")
        row = self.js("""const row = document.querySelector('#conversations li.conversation');
                         return [row.className, (row.querySelector('span.unread-count') || {}).textContent || null,
                                 !!row.querySelector('span.mark.needs-reply'), (row.querySelector('a.open') || {}).href || null]""")
        self.assertIn("unread", row[0].split(), f"the new row's classes: {row[0]!r}")
        self.assertEqual((row[1] or "").strip(), "1", f"the new row's span.unread-count: {row[1]!r}")
        self.assertTrue(row[3] and row[3].endswith(thread_path(phone)), f"the row's a.open href: {row[3]!r}")
        expected_title = f"({unread_before + 1}) Inbox · {B1.name} · Replyline"
        self.wait_js("return document.title === arguments[0]", f"the tab title {expected_title!r}", LIVE_TIMEOUT, None,
                     expected_title)
        self.wait_js("""const c = document.querySelector('nav.filters a.filter[data-filter=unread] span.count');
                        return c && parseInt(c.textContent, 10) === arguments[0];""",
                     f"the Unread chip's count to be {chip_before + 1}", LIVE_TIMEOUT, "nav.filters", chip_before + 1)
        self.assert_not_reloaded()

    def test_inbound_appears_live_in_thread(self):
        phone = "+14155550161"
        WORLD.main.inbound(B1, phone, "Hello, this is Sam")
        self.go(thread_path(phone))
        self.wait_live()
        self.assertIn("current", self.js(
            "const r = document.querySelector(`#conversations li.conversation[data-phone='${arguments[0]}']`);"
            "return r ? r.className : ''", phone).split(), "the open thread's row should have class current")
        unread_before = self.title_unread()
        self.mark()
        body = f"Running 10 minutes late, sorry! ({unique()})"
        WORLD.main.inbound(B1, phone, body)
        self.wait_js("""const all = document.querySelectorAll('#messages li.message.inbound');
                        const last = all[all.length - 1];
                        return last && (last.querySelector('div.body') || {}).textContent === arguments[0];""",
                     f"the new text {body!r} as the thread's last li.message.inbound, without reload",
                     LIVE_TIMEOUT, "#messages", body)
        self.assert_not_reloaded()
        # Read on screen: the page marks it read, so the counts come back to what they were.
        self.wait_js("""const r = document.querySelector(`#conversations li.conversation[data-phone='${arguments[0]}']`);
                        return r && !r.querySelector('span.unread-count') && !r.classList.contains('unread')
                          && !document.title.startsWith(`(${arguments[1] + 1}) `);""",
                     "the open thread's new text counted read (no unread mark on its row, the title's count unchanged)",
                     LIVE_TIMEOUT, "#list", phone, unread_before)
        self.assertEqual(self.title_unread(), unread_before, f"the title's unread count: {self.d.title!r}")
        self.assert_not_reloaded()

    def test_opt_out_shows_live_in_open_thread(self):
        phone = "+14155550164"
        WORLD.main.inbound(B1, phone, "Who is this?")
        self.go(thread_path(phone))
        self.wait_live()
        self.assertFalse(self.js("return document.getElementById('reply').disabled"), "a subscribed client's reply box is enabled")
        self.mark()
        WORLD.main.inbound(B1, phone, "STOP")
        self.wait_js("""const b = document.querySelector('#thread div.banner.opted-out[role=status]');
                        return b && document.getElementById('reply').disabled && document.getElementById('send').disabled;""",
                     "the opted-out banner and a disabled reply box and send button, live", LIVE_TIMEOUT, "#thread")
        self.assert_not_reloaded()

    def test_reply_status_goes_queued_sent_delivered(self):
        phone = "+14155550162"
        WORLD.main.inbound(B1, phone, "Can I come at 4 instead?")
        self.go(thread_path(phone))
        text = f"Yes, 4 PM works. See you then! {unique()}"
        reply = self.d.find_element(By.CSS_SELECTOR, "form#compose textarea#reply[name=body]")
        reply.send_keys(text)
        self.d.find_element(By.CSS_SELECTOR, "form#compose button#send").click()
        self.wait_js("""return location.pathname === arguments[0] && document.readyState === 'complete'
                          && [...document.querySelectorAll('#messages li.message.outbound div.body')]
                               .some(b => b.textContent === arguments[1]);""",
                     f"back on the thread with the outbound message {text!r}", PAGE_TIMEOUT, "#messages",
                     thread_path(phone), text)
        self.assertEqual(self.d.find_element(By.ID, "reply").get_property("value"), "", "the reply box is emptied after sending")
        self.wait_live()
        self.mark()
        record = WORLD.fake.wait_for(lambda r: r["to"] == phone and r["body"] == text, 20, f"the reply {text!r}")
        self.assertEqual(record["from"], B1.number, "the reply goes out from the business's number")
        seen = []

        def wait_badge(status):
            def check(driver):
                badge = self.message_badge(text)
                if badge and (not seen or seen[-1] != badge):
                    seen.append(badge)
                return badge and f"status-{status}" in badge[0].split() and status in badge[1].lower()
            try:
                WebDriverWait(self.d, LIVE_TIMEOUT, poll_frequency=0.1).until(check)
            except TimeoutException:
                self.fail(f"expected the reply's badge summary.badge.status-{status} with the word {status!r} within "
                          f"{LIVE_TIMEOUT} s; badges seen (class, text): {seen}:{self.shown('#messages')}")

        wait_badge("queued")
        WORLD.main.status_callback(record, "sent")
        wait_badge("sent")
        self.assert_not_reloaded()
        WORLD.main.status_callback(record, "delivered")
        wait_badge("delivered")
        self.assert_not_reloaded()
        # The badge's details: the history.
        history = self.js("""
            const li = [...document.querySelectorAll('#messages li.message.outbound')]
              .find(li => (li.querySelector('div.body') || {}).textContent === arguments[0]);
            const d = li.querySelector('details.status'); d.open = true;
            return [...d.querySelectorAll('ol.history > li')].map(x => x.textContent.trim());""", text)
        for status in ("sent", "delivered"):
            self.assertTrue(any(status in h.lower() for h in history), f"the status history should list {status}: {history}")

    # -- consent, safety ----------------------------------------------------------------

    def test_opted_out_contact_cannot_be_texted(self):
        self.go(thread_path(BO))
        state = self.js("""
            const banner = document.querySelector('#thread div.banner.opted-out[role=status]');
            const reply = document.querySelector('form#compose textarea#reply'), send = document.querySelector('form#compose button#send');
            const row = document.querySelector(`#conversations li.conversation[data-phone='${arguments[0]}']`);
            return {banner: banner ? banner.innerText : null, bannerShown: !!(banner && banner.offsetParent),
                    reply: reply ? reply.disabled : null, send: send ? send.disabled : null,
                    why: (document.querySelector('form#compose p.send-disabled') || {}).innerText || null,
                    row: row ? row.className : null, mark: !!(row && row.querySelector('span.mark.opted-out')),
                    consent: (document.querySelector('#client p.consent') || {}).innerText || null};""", BO)
        self.assertTrue(state["banner"] and state["bannerShown"], f"an opted-out client's thread shows div.banner.opted-out: {state}")
        self.assertIn("START", state["banner"], f"the banner says how they can opt back in: {state['banner']!r}")
        self.assertIs(state["reply"], True, f"textarea#reply must be disabled: {state}")
        self.assertIs(state["send"], True, f"button#send must be disabled: {state}")
        self.assertTrue(state["why"], f"p.send-disabled must say why: {state}")
        self.assertIn("opted-out", (state["row"] or "").split(), f"the list row has class opted-out: {state}")
        self.assertTrue(state["mark"], f"the list row has span.mark.opted-out: {state}")
        self.assertIn("opted out", (state["consent"] or "").lower(), f"the client card's consent: {state}")
        # Forced from the page: re-enable the form and send.
        forced = f"Forced from the page {unique()}"
        self.js("""const r = document.getElementById('reply'), s = document.getElementById('send');
                   r.disabled = false; s.disabled = false; r.value = arguments[0];""", forced)
        self.js("window.__submitted = 1")
        self.d.find_element(By.ID, "send").click()
        self.wait_js("return window.__submitted === undefined && document.readyState === 'complete'",
                     "the forced send's answer", PAGE_TIMEOUT)
        self.assertEqual(self.nav_status(), 409, f"a forced send to an opted-out client: expected 409:{self.shown('#thread')}")
        self.assertTrue(self.d.find_elements(By.CSS_SELECTOR, "p.form-error[role=alert]"),
                        f"the 409 page says why in p.form-error:{self.shown('#thread')}")
        # Forced over HTTP with the session and a valid CSRF token.
        token = self.csrf()
        forced_http = f"Forced over HTTP {unique()}"
        answer = WORLD.main.page("POST", thread_path(BO) + "/messages", jar=self.jar(),
                                 form={"body": forced_http, "csrf_token": token})
        self.assertEqual(answer.status, 409, f"POST /conversations/{{opted-out}}/messages: expected 409, "
                                             f"got {answer.status}: {answer.text[:300]}")
        WORLD.barrier()
        reached = [r for r in WORLD.fake.snapshot() if r["to"] == BO and r["body"] in (forced, forced_http)]
        self.assertEqual(reached, [], "nothing may reach Twilio for an opted-out client")
        stored = [m for m in WORLD.main.messages(B1, BO) if m.get("body") in (forced, forced_http)]
        self.assertEqual(stored, [], f"a refused send must not be stored: {stored}")

    def test_xss_bodies_shown_as_text(self):
        phone = "+14155550163"
        bodies = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>",
                  "\"><svg onload=alert(1)> & 'quotes' {{name}}"]
        name = "<b>Eve</b><img src=x onerror=alert(2)>"
        answer = WORLD.main.api(B1, "POST", "/appointments", {
            "phone": phone, "customer_name": name, "service": "<i>Cleaning</i>", "starts_at": local_time(B1, 5, 9)})
        named = isinstance(answer, dict)
        if not named:
            WORLD.note(f"the API refused an appointment whose customer_name holds markup ({answer.status}); "
                       "the name part of the XSS test was skipped")
        for body in bodies:
            WORLD.main.inbound(B1, phone, body)
        for path in ("/", thread_path(phone)):
            self.go(path)
            self.wait_js("return document.querySelector(`#conversations li.conversation[data-phone='${arguments[0]}']`)",
                         f"the XSS contact's row on {path}", PAGE_TIMEOUT, "#list", phone)
            with self.assertRaises(NoAlertPresentException, msg=f"an alert opened on {path}: markup ran"):
                alert = self.d.switch_to.alert
                text = alert.text
                alert.dismiss()
                self.fail(f"an alert ({text!r}) opened on {path}: a message's markup ran")
            injected = self.js("""return [...document.querySelectorAll('img, script, svg, b, i')]
                .filter(e => !(e.tagName === 'IMG' && e.classList.contains('media')) && !(e.tagName === 'SCRIPT' && e.src))
                .map(e => e.outerHTML.slice(0, 120));""")
            self.assertEqual(injected, [], f"elements injected from message text on {path}")
            preview = self.js("const r = document.querySelector(`#conversations li.conversation[data-phone='${arguments[0]}']`);"
                              "return r.querySelector('span.preview').textContent", phone)
            self.assertEqual(preview, bodies[-1], f"the list preview shows the last text literally on {path}")
            if named:
                shown_name = self.js("const r = document.querySelector(`#conversations li.conversation[data-phone='${arguments[0]}']`);"
                                     "return r.querySelector('span.name').textContent", phone)
                self.assertEqual(shown_name, name, f"the row's span.name shows the name literally on {path}")
        texts = self.js("return [...document.querySelectorAll('#messages li.message.inbound div.body')].map(b => b.textContent)")
        for body in bodies:
            self.assertIn(body, texts, f"div.body should show {body!r} literally; inbound bodies: {texts}")
        if named:
            self.assertEqual(self.js("return document.querySelector('#thread h1').textContent"), name)
            self.assertEqual(self.js("return document.querySelector('#client h2').textContent"), name)

    def test_other_business_is_404(self):
        # Business 2's thread, for business 1's staff: 404 in the browser, without its content.
        self.go(thread_path(JORDAN))
        self.assertEqual(self.nav_status(), 404, f"business 2's thread for business 1's staff:{self.shown()}")
        source = self.d.page_source
        for secret in ("Jordan", "Saturday morning", "Balayage", B2.name):
            self.assertNotIn(secret, source, f"business 2's {secret!r} shows on business 1's 404 page")
        jar, token = self.jar(), self.csrf()
        if token is None:
            self.go("/")
            token = self.csrf()
        self.assertEqual(WORLD.main.page("GET", thread_path(JORDAN), jar=jar).status, 404)
        # A number no one has: the same answer (no telling which numbers another business has).
        nobody = WORLD.main.page("GET", thread_path("+14155550987"), jar=jar)
        other = WORLD.main.page("GET", thread_path(JORDAN), jar=jar)
        self.assertEqual(nobody.status, 404, "a number with no conversation")
        self.assertEqual(re.sub(r'content="[^"]*"|value="[^"]*"', "", nobody.text),
                         re.sub(r'content="[^"]*"|value="[^"]*"', "", other.text),
                         "another business's number and an unknown number must answer alike")
        # Writes to business 2's contact or appointment.
        forced = f"Cross-business {unique()}"
        answers = {
            "send to business 2's contact": WORLD.main.page(
                "POST", thread_path(JORDAN) + "/messages", jar=jar, form={"body": forced, "csrf_token": token}),
            "business 2's appointment under business 2's phone": WORLD.main.page(
                "POST", f"{thread_path(JORDAN)}/appointments/{WORLD.jordan_appointment}", jar=jar,
                form={"action": "cancel", "csrf_token": token}),
            "business 2's appointment under business 1's phone": WORLD.main.page(
                "POST", f"{thread_path(ANA)}/appointments/{WORLD.jordan_appointment}", jar=jar,
                form={"action": "cancel", "csrf_token": token}),
            "a new appointment for business 2's contact": WORLD.main.page(
                "POST", thread_path(JORDAN) + "/appointments", jar=jar,
                form={"starts_at": "2030-01-02T10:00", "service": "Cut", "csrf_token": token}),
        }
        for what, answer in answers.items():
            self.assertEqual(answer.status, 404, f"{what}: expected 404, got {answer.status}: {answer.text[:200]}")
        appointment = WORLD.main.api(B2, "GET", f"/appointments/{WORLD.jordan_appointment}", expect=200)
        self.assertNotIn(appointment["state"], ("cancelled",), f"business 2's appointment changed: {appointment}")
        WORLD.barrier()
        self.assertEqual([r for r in WORLD.fake.snapshot() if r["body"] == forced], [], "nothing sent to business 2's contact")
        # Business 2's own staff does see it (the 404 above is about the business, not the page).
        jar2 = WORLD.main.sign_in_http(WORLD.staff2)
        own = WORLD.main.page("GET", thread_path(JORDAN), jar=jar2)
        self.assertEqual(own.status, 200, f"business 2's staff on its own thread: {own.status}")
        self.assertIn("Saturday morning", own.text)
        # Live: business 2's new text never reaches business 1's open page.
        self.go("/")
        self.wait_live()
        self.mark()
        salon_phone, b1_phone = "+17735550177", "+14155550165"
        WORLD.main.inbound(B2, salon_phone, f"Salon only {unique()}")
        WORLD.main.inbound(B1, b1_phone, f"Clinic text {unique()}")
        self.wait_js("return !!document.querySelector(`#conversations li.conversation[data-phone='${arguments[0]}']`)",
                     f"business 1's new text from {b1_phone}", LIVE_TIMEOUT, "#list", b1_phone)
        self.assertFalse(self.js("return !!document.querySelector(`[data-phone='${arguments[0]}']`)", salon_phone),
                         "business 2's contact appeared on business 1's inbox")
        self.assertNotIn("Salon only", self.d.page_source)
        self.assert_not_reloaded()

    def test_csrf_required(self):
        self.go(thread_path(PRIYA))
        jar, token = self.jar(), self.csrf()
        self.assertTrue(token, "no <meta name=csrf-token> on a signed-in page")
        other_session = WORLD.main.sign_in_http(WORLD.staff1)
        other_token = csrf_of(WORLD.main.page("GET", "/", jar=other_session).text)
        before = len(WORLD.main.messages(B1, PRIYA))
        appointments_before = WORLD.main.api(B1, "GET", f"/conversations/{urllib.parse.quote(PRIYA, safe='')}", expect=200)
        bodies = {}

        def post(what, path, form, headers=None):
            answer = WORLD.main.page("POST", path, jar=jar, form=form, headers=headers)
            self.assertEqual(answer.status, 403, f"{what}: expected 403, got {answer.status}: {answer.text[:300]}")

        for what, extra, headers in (("no csrf_token", {}, None), ("a wrong csrf_token", {"csrf_token": "wrong"}, None),
                                     ("an empty csrf_token", {"csrf_token": ""}, None),
                                     ("another session's token", {"csrf_token": other_token}, None),
                                     ("a wrong X-CSRF-Token header", {}, {"X-CSRF-Token": "wrong"})):
            body = f"CSRF {what} {unique()}"
            bodies[what] = body
            post(f"send with {what}", thread_path(PRIYA) + "/messages", {"body": body, **extra}, headers)
        post("new message without csrf_token", "/new", {"phone": "+14155550166", "body": f"CSRF new {unique()}"})
        apt = self.js("const a = document.querySelector('#client li.appointment[data-id]'); return a ? a.dataset.id : null")
        if apt:
            post("appointment action without csrf_token", f"{thread_path(PRIYA)}/appointments/{apt}", {"action": "cancel"})
        post("new appointment without csrf_token", thread_path(PRIYA) + "/appointments",
             {"starts_at": "2030-01-02T10:00", "service": "Cut"})
        post("sign-out without csrf_token", "/logout", {})
        # Still signed in after the refused sign-out.
        self.assertEqual(WORLD.main.page("GET", "/", jar=jar).status, 200, "a refused sign-out must leave the session")
        # Nothing changed, nothing sent.
        self.assertEqual(len(WORLD.main.messages(B1, PRIYA)), before, "a refused form stored a message")
        after = WORLD.main.api(B1, "GET", f"/conversations/{urllib.parse.quote(PRIYA, safe='')}", expect=200)
        self.assertEqual(after.get("appointments"), appointments_before.get("appointments"), "a refused form changed an appointment")
        self.assertNotIn("+14155550166", [c.get("phone") for c in WORLD.main.api(B1, "GET", "/conversations?limit=200")
                                          .get("conversations", [])], "a refused /new made a conversation")
        # The same request with the right token works (so the refusals above were about the token).
        good = f"CSRF control {unique()}"
        answer = WORLD.main.page("POST", thread_path(PRIYA) + "/messages", jar=jar, form={"body": good, "csrf_token": token})
        self.assertEqual(answer.status, 303, f"the same form with its token: expected 303, got {answer.status}: {answer.text[:300]}")
        answer = WORLD.main.page("POST", thread_path(PRIYA) + "/messages", jar=jar, form={"body": good + " (header)"},
                                 headers={"X-CSRF-Token": token})
        self.assertEqual(answer.status, 303, f"the X-CSRF-Token header with the right token: expected 303, got {answer.status}")
        WORLD.barrier()
        sent = [r["body"] for r in WORLD.fake.snapshot() if r["to"] == PRIYA]
        for what, body in bodies.items():
            self.assertNotIn(body, sent, f"the send with {what} reached Twilio")
        self.assertIn(good, sent, "the control send with the token should reach Twilio")

    # -- compose -----------------------------------------------------------------------

    def test_segment_counter(self):
        phone = "+14155550167"
        WORLD.main.inbound(B1, phone, "What should I bring?")
        self.go(thread_path(phone))
        reply = self.d.find_element(By.ID, "reply")
        output = lambda: self.js("return document.getElementById('segments').textContent.trim()")
        self.assertEqual(output(), "0/160 · GSM-7 · 0 segments", "the server-rendered counter of an empty box")

        def check(expected_value, what):
            value = reply.get_property("value")
            self.assertEqual(value, expected_value, f"the reply box after {what}")
            encoding, units, segments = segment_count(value)
            pattern = r"^(\d+)/(\d+) · (GSM-7|UCS-2) · (\d+) segments?$"
            try:
                WebDriverWait(self.d, 3, poll_frequency=0.05).until(
                    lambda d: (m := re.match(pattern, output())) and int(m.group(1)) == units)
            except TimeoutException:
                pass
            shown = output()
            found = re.match(pattern, shown)
            self.assertTrue(found, f"after {what}: the counter {shown!r} is not '{{units}}/{{n}} · {{encoding}} · {{k}} segment(s)'")
            self.assertEqual((int(found.group(1)), found.group(3), int(found.group(4))), (units, encoding, segments),
                             f"after {what}: the counter shows {shown!r}; the server's rules give {units} units, "
                             f"{encoding}, {segments} segment(s)")
            self.assertEqual(shown.endswith(" segment") if segments == 1 else shown.endswith(" segments"), True, shown)
            single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
            denominator = int(found.group(2))
            if segments <= 1:
                self.assertEqual(denominator, single, f"after {what}: one part holds {single}: {shown!r}")
            else:
                # What the n parts hold together (n × multi), as the server's counter shows it.
                self.assertEqual(denominator, multi * segments, f"after {what}: {segments} parts hold {multi * segments}: {shown!r}")

        reply.send_keys("Hello")
        check("Hello", "typing Hello")
        reply.send_keys(" [ok] €5")
        check("Hello [ok] €5", "GSM-7 extension characters ([, ], €: two septets each)")
        insert = "document.getElementById('reply').focus(); document.execCommand('insertText', false, arguments[0]);"
        self.js(insert, "x" * (160 - len("Hello [ok] €5") - 3))
        check("Hello [ok] €5" + "x" * (160 - 16), "exactly 160 septets")
        self.js(insert, "y")
        check("Hello [ok] €5" + "x" * 144 + "y", "161 septets (two parts of 153)")
        reply.send_keys(Keys.CONTROL, "a")
        reply.send_keys(Keys.DELETE)
        check("", "clearing the box")
        text = "See you at 4 "
        reply.send_keys(text)
        check(text, "typing GSM-7 text")
        self.js(insert, "🙂")            # outside the BMP: ChromeDriver cannot type it, the page can insert it
        check(text + "🙂", "an emoji (UCS-2, a surrogate pair: two units)")
        long = text + "🙂" + "z" * (70 - len(text) - 2)
        self.js(insert, "z" * (70 - len(text) - 2))
        check(long, "exactly 70 UCS-2 units")
        self.js(insert, "!")
        check(long + "!", "71 UCS-2 units (two parts of 67)")
        # The server's own count for what was typed: send it, read it back through the API.
        self.d.find_element(By.ID, "send").click()
        final = long + "!"
        self.wait_js("return [...document.querySelectorAll('#messages li.message.outbound div.body')]"
                     ".some(b => b.textContent === arguments[0])", "the sent UCS-2 text in the thread", PAGE_TIMEOUT,
                     "#messages", final)
        stored = [m for m in WORLD.main.messages(B1, phone) if m.get("body") == final]
        self.assertTrue(stored, "the sent text through the API")
        encoding, units, segments = segment_count(final)
        self.assertEqual((stored[0].get("encoding"), stored[0].get("segments")), (encoding, segments),
                         f"the server's count of the sent text vs the counter's rules: {stored[0]}")

    def test_keyboard(self):
        self.go("/")
        rows = self.js("return [...document.querySelectorAll('#conversations li.conversation')]"
                       ".map(r => [r.dataset.phone, r.querySelector('a.open').getAttribute('href')])")
        self.assertGreaterEqual(len(rows), 3, f"at least three conversations for j/k: {rows}")
        self.js("document.activeElement && document.activeElement.blur()")

        def press(*keys):
            ActionChains(self.d).send_keys(*keys).perform()

        def selected():
            return self.js("return [...document.querySelectorAll('#conversations li.conversation')]"
                           ".findIndex(r => r.classList.contains('selected') || r.getAttribute('aria-selected') === 'true')")

        press("j")
        self.assertEqual(selected(), 0, f"j selects the first conversation:{self.shown('#list')}")
        press("j")
        press("j")
        self.assertEqual(selected(), 2, "j, j, j selects the third")
        press("k")
        self.assertEqual(selected(), 1, "k moves back to the second")
        press(Keys.ENTER)
        self.wait_js("return document.readyState === 'complete' && decodeURIComponent(location.pathname) === arguments[0]",
                     f"Enter to open the selected (second) conversation, {rows[1][1]}", PAGE_TIMEOUT, None,
                     urllib.parse.unquote(rows[1][1]))
        self.assertTrue(self.js("return document.body.classList.contains('page-thread')"), self.shown())
        # '/' focuses search; typing there is text, not shortcuts.
        self.js("document.activeElement && document.activeElement.blur()")
        press("/")
        self.assertEqual(self.js("return document.activeElement && document.activeElement.id"), "search", "/ focuses #search")
        press("jk")
        self.assertEqual(self.js("return document.getElementById('search').value"), "jk", "keys typed into search stay text")
        press(Keys.ESCAPE)
        self.assertNotEqual(self.js("return document.activeElement && document.activeElement.id"), "search", "Esc leaves search")
        # r focuses the reply box (when the client can be texted), Esc leaves it.
        if not self.js("return document.getElementById('reply').disabled"):
            press("r")
            self.assertEqual(self.js("return document.activeElement.id"), "reply", "r focuses #reply")
            press(Keys.ESCAPE)
            self.assertNotEqual(self.js("return document.activeElement.id"), "reply", "Esc leaves #reply")
        # ? shows the shortcuts, and again hides them.
        self.js("document.activeElement && document.activeElement.blur()")
        press("?")
        shown = self.js("const s = document.getElementById('shortcuts'); return s ? (s.open === true || !s.hidden) : null")
        self.assertTrue(shown, "? shows #shortcuts")
        press("?")
        self.assertFalse(self.js("const s = document.getElementById('shortcuts'); return s.open === true || (s.open === undefined && !s.hidden)"),
                         "? again hides #shortcuts")

    # -- client card, new message, messages, usage ----------------------------------

    def test_appointment_actions_and_new_appointment(self):
        phone = "+14155550168"
        answer = WORLD.main.api(B1, "POST", "/appointments", {
            "phone": phone, "customer_name": "Sam Kim", "service": "Cleaning", "starts_at": local_time(B1, 3, 9, 30)}, expect=201)
        WORLD.fake.wait_for(lambda r: r["to"] == phone, 20, f"the confirmation request to {phone}")
        self.go(thread_path(phone))
        button = self.d.find_elements(
            By.CSS_SELECTOR, f"#client li.appointment[data-id='{answer['id']}'] form.appointment-action button[name=action][value=confirm]")
        self.assertTrue(button, f"a Confirm button (button[name=action][value=confirm]) on the appointment:{self.shown('#client')}")
        button[0].click()
        self.wait_js("""const a = document.querySelector(`#client li.appointment[data-id='${arguments[0]}'] span.state`);
                        return a && /confirmed/i.test(a.textContent);""",
                     "the appointment's span.state to say confirmed", PAGE_TIMEOUT, "#client", answer["id"])
        self.assertEqual(WORLD.main.api(B1, "GET", f"/appointments/{answer['id']}", expect=200)["state"], "confirmed")
        # A new appointment from the card: it asks the client to confirm, as the API does.
        before = self.js("return document.querySelectorAll('#client li.appointment[data-id]').length")
        self.js("const d = document.querySelector('#client details.add-appointment'); if (d) d.open = true;")
        starts = datetime.fromisoformat(local_time(B1, 6, 10)).strftime("%Y-%m-%dT%H:%M")
        # A live refresh may swap #client meanwhile (app.js keeps typed values): find the fields afresh.
        self.js("document.querySelector('form#new-appointment input[name=starts_at]').value = arguments[0]", starts)
        self.retrying(lambda: self.d.find_element(By.CSS_SELECTOR, "form#new-appointment input[name=service]").send_keys("Follow-up"))
        self.retrying(lambda: self.d.find_element(By.CSS_SELECTOR, "form#new-appointment button[type=submit]").click())
        self.wait_js("return document.querySelectorAll('#client li.appointment[data-id]').length === arguments[0]",
                     f"{before + 1} appointments on the client card", PAGE_TIMEOUT, "#client", before + 1)
        detail = WORLD.main.api(B1, "GET", f"/conversations/{urllib.parse.quote(phone, safe='')}", expect=200)
        added = [a for a in detail["appointments"] if a["service"] == "Follow-up"]
        self.assertEqual(len(added), 1, f"the new appointment through the API: {detail['appointments']}")
        self.assertEqual(added[0]["state"], "awaiting_reply", f"a new appointment asks to confirm: {added[0]}")
        self.assertEqual(datetime.fromisoformat(added[0]["starts_at"].replace("Z", "+00:00")),
                         datetime.fromisoformat(local_time(B1, 6, 10)), "starts_at read in the business's time zone")

    def test_new_message(self):
        self.go("/new")
        self.assertTrue(self.js("return document.body.classList.contains('page-new')"), self.shown())
        self.assertEqual(self.js("const a = document.querySelector('nav.main a[aria-current=page]'); return a && a.getAttribute('href')"),
                         "/new", "nav.main marks New message as the current page")
        text = f"Hi, this is Bright Smile Dental: your x-rays are ready. {unique()}"
        self.d.find_element(By.CSS_SELECTOR, "form#compose input#phone[name=phone]").send_keys("(415) 555-0170")
        self.d.find_element(By.CSS_SELECTOR, "form#compose textarea#reply[name=body]").send_keys(text)
        self.d.find_element(By.CSS_SELECTOR, "form#compose button#send").click()
        self.wait_path(thread_path("+14155550170"))
        record = WORLD.fake.wait_for(lambda r: r["body"] == text, 20, "the new message")
        self.assertEqual(record["to"], "+14155550170", "a national number is normalized to E.164")
        # To an opted-out number: refused with the reason.
        self.go("/new")
        self.d.find_element(By.ID, "phone").send_keys(BO)
        self.d.find_element(By.ID, "reply").send_keys("Are you there?")
        self.d.find_element(By.ID, "send").click()
        self.wait_js("return document.readyState === 'complete' && !!document.querySelector('p.form-error[role=alert]')",
                     "the refusal to text an opted-out number", PAGE_TIMEOUT)
        self.assertEqual(self.nav_status(), 409, self.shown())
        # Not a phone number.
        self.go("/new")
        self.d.find_element(By.ID, "phone").send_keys("12")
        self.d.find_element(By.ID, "reply").send_keys("Hello")
        self.d.find_element(By.ID, "send").click()
        self.wait_js("return document.readyState === 'complete' && !!document.querySelector('p.form-error[role=alert]')",
                     "the error for a number that is not one", PAGE_TIMEOUT)
        self.assertEqual(self.nav_status(), 400, self.shown())
        self.assertEqual(self.d.find_element(By.ID, "reply").get_property("value"), "Hello", "the text is kept after an error")

    def test_messages_page(self):
        self.go("/messages")
        self.assertEqual(self.nav_status(), 200, self.shown())
        self.assertTrue(self.js("return document.body.classList.contains('page-messages')"), self.shown())
        filters = self.js("return [...document.querySelectorAll('nav.filters a.filter')].map(a => a.dataset.filter)")
        for name in ("all", "delivered", "pending", "failed"):
            self.assertIn(name, filters, f"nav.filters a.filter[data-filter={name}]")
        rows = lambda: self.js("""return [...document.querySelectorAll('table#outbound tr.message[data-id]')].map(r => ({
            id: r.dataset.id, text: r.innerText, badge: (r.querySelector('td.status .badge') || r.querySelector('td.status') || {}).className || '',
            status: (r.querySelector('td.status') || {}).innerText || '',
            reason: (r.querySelector('td.reason, .reason') || {}).innerText || null}))""")
        marcus = [r for r in rows() if "Crown fitting" in r["text"]]
        self.assertTrue(marcus, f"Marcus's undelivered confirmation request in table#outbound:{self.shown('#main')}")
        self.assertIn("status-undelivered", marcus[0]["badge"], marcus[0])
        self.assertTrue(marcus[0]["reason"] and "landline" in marcus[0]["reason"].lower(),
                        f"a failed message says why in plain words (30006: a landline): {marcus[0]}")
        self.go("/messages?status=failed")
        failed = rows()
        self.assertTrue(any("Crown fitting" in r["text"] for r in failed), "the failed filter lists Marcus's message")
        self.assertFalse([r for r in failed if "status-delivered" in r["badge"]], f"a delivered message under failed: {failed}")
        self.go("/messages?status=delivered")
        delivered = rows()
        self.assertTrue(delivered, "the delivered filter lists the delivered messages")
        self.assertFalse([r for r in delivered if "status-delivered" not in r["badge"]], f"not delivered under delivered: {delivered}")

    def test_usage_page(self):
        self.go("/usage")
        self.assertEqual(self.nav_status(), 200, self.shown())
        self.assertTrue(self.js("return document.body.classList.contains('page-usage')"), self.shown())
        chart = self.js("""const svg = document.querySelector('section#usage svg#volume-chart');
            return svg && {role: svg.getAttribute('role'), label: svg.getAttribute('aria-label'),
                           bars: svg.querySelectorAll('rect.bar').length,
                           titled: [...svg.querySelectorAll('rect.bar')].filter(b => b.querySelector('title')).length};""")
        self.assertTrue(chart, f"section#usage svg#volume-chart:{self.shown('#main')}")
        self.assertEqual(chart["role"], "img", chart)
        self.assertTrue(chart["label"], chart)
        self.assertEqual(chart["bars"], 30, f"one rect.bar a day for 30 days: {chart}")
        self.assertEqual(chart["titled"], 30, f"each bar has a <title>: {chart}")
        self.assertTrue(self.d.find_elements(By.CSS_SELECTOR, "section#usage dl"), "the figures in a dl")
        codes = self.js("const t = document.querySelector('table#error-codes'); return t ? t.innerText : null")
        self.assertTrue(codes and "30006" in codes, f"table#error-codes lists 30006 (Marcus's landline): {codes!r}")

    def test_live_reconnects_after_restart(self):
        """The server restarts under an open page: the page reconnects by itself and shows what
        arrives afterwards, with no reload."""
        self.go("/")
        self.wait_live()
        self.mark()
        server = WORLD.main
        stopping = time.time()
        server.stop()
        stop_seconds = time.time() - stopping
        self.assertLess(stop_seconds, 10, f"SIGTERM with a live stream open took {stop_seconds:.1f} s to stop the server")
        self.wait_js("return !(window.__eventSources || []).some(s => s.readyState === 1)",
                     "the page's stream to notice the server went away", LIVE_TIMEOUT)
        server.start()
        phone, body = "+14155550169", f"Back online? {unique()}"
        server.inbound(B1, phone, body)
        self.wait_js("return !!document.querySelector(`#conversations li.conversation[data-phone='${arguments[0]}']`)",
                     f"the text sent after the restart ({phone}) on the page, without reload", 20, "#list", phone)
        self.assert_not_reloaded()

    # -- pages and headers -------------------------------------------------------------

    def test_security_headers_and_no_secrets(self):
        jar = self.jar()
        expected_csp = ("default-src 'self'; img-src 'self' https: data:; script-src 'self'; style-src 'self'; "
                        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
        for path in ("/", thread_path(ANA), "/login", "/new"):
            answer = WORLD.main.page("GET", path, jar=jar if path != "/login" else None)
            self.assertEqual(answer.status, 200, f"GET {path}: {answer.status}")
            self.assertEqual(answer.headers.get("content-security-policy"), expected_csp, f"CSP of {path}")
            self.assertEqual(answer.headers.get("x-content-type-options"), "nosniff", path)
            self.assertEqual(answer.headers.get("referrer-policy"), "same-origin", path)
            self.assertIn("no-store", answer.headers.get("cache-control", ""), f"Cache-Control of {path}")
            html = answer.text
            problems = inline_code(html)
            self.assertEqual(problems, [], f"inline script, style or on…= handlers on {path}")
            for secret in (harness.TOKEN, B1.api_key, B2.api_key, jar.get("replyline_session", "-")):
                self.assertNotIn(secret, html, f"a secret shows on {path}")
        page = WORLD.main.page("GET", "/", jar=jar).text
        for asset in re.findall(r'(?:href|src)="(/assets/app-[^"]+)"', page):
            answer = WORLD.main.page("GET", asset)
            self.assertEqual(answer.status, 200, asset)
            self.assertIn("immutable", answer.headers.get("cache-control", ""), f"Cache-Control of {asset}")

    def test_staff_cli(self):
        listed = WORLD.main.staff("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        for email in (WORLD.staff1, WORLD.staff2):
            self.assertIn(email, listed.stdout, f"`staff list` should name {email}")
        temp = f"temp-{unique()}@bright-smile.test"
        WORLD.main.add_staff(B1, temp)
        jar = WORLD.main.sign_in_http(temp)
        self.assertEqual(WORLD.main.page("GET", "/", jar=jar).status, 200)
        out = WORLD.main.staff("reset-password", "--email", temp, "--password-stdin", password="a new password 42")
        self.assertEqual(out.returncode, 0, f"`staff reset-password`: {out.stdout}{out.stderr}")
        self.assertEqual(WORLD.main.page("GET", "/", jar=jar).status, 303, "reset-password must end the account's sessions")
        jar = WORLD.main.sign_in_http(temp, "a new password 42")
        out = WORLD.main.staff("remove", "--email", temp)
        self.assertEqual(out.returncode, 0, f"`staff remove`: {out.stdout}{out.stderr}")
        self.assertEqual(WORLD.main.page("GET", "/", jar=jar).status, 303, "remove must end the account's sessions")
        self.assertNotIn(temp, WORLD.main.staff("list").stdout)

    def test_console_clean(self):
        """Last: no Content-Security-Policy violation and no script error in any page the run opened."""
        self.tearDown()
        bad = [(test, message) for test, level, message in WORLD.console
               if level == "SEVERE" and ("Content Security Policy" in message or "Uncaught" in message
                                         or "TypeError" in message or "ReferenceError" in message)]
        self.assertEqual(bad, [], "Chromium's console reported errors (test, message)")
