#!/usr/bin/env python3
"""Runs the browser tests of the staff web inbox (Tests/browser/test_inbox.py); started by
scripts/browser-test, which installs Chromium, ChromeDriver and Selenium first.

    python3 Tests/browser/run.py [--binary .build/debug/replyline] [--postgres] [--screenshots DIR]
                                 [--update-docs] [--only NAME ...] [--time-limit 300] [--keep]

Starts a fake Twilio REST API and two `replyline serve` on 127.0.0.1 (the inbox's, and one
for the sign-in tests, whose failures count per client address), each with two businesses
from one --config, on SQLite files in a scratch folder or, with --postgres, on databases of
a throwaway cluster (scripts/postgres start; stopped and removed at the end). Seeds
business 1 with clients in the states a front desk sees, runs the tests in a fixed order
with one headless Chromium, and prints where the screenshots are. The whole run is bounded
by --time-limit: past it, everything it started is killed and it exits 3. Exit 1 when a
test fails; the scratch folder (server logs, databases) is then kept, with a screenshot
and the HTML of each failing page under the screenshots folder.
"""
import argparse
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import test_inbox  # noqa: E402
from harness import ROOT, log  # noqa: E402

ORDER = [
    ("SignInTests", ["test_signed_out_visit_goes_to_login", "test_sign_in_and_sign_out", "test_wrong_password_then_rate_limit"]),
    ("InboxTests", ["test_screenshots", "test_inbound_appears_live_in_list", "test_inbound_appears_live_in_thread",
                    "test_reply_status_goes_queued_sent_delivered", "test_opt_out_shows_live_in_open_thread",
                    "test_opted_out_contact_cannot_be_texted", "test_xss_bodies_shown_as_text", "test_other_business_is_404",
                    "test_csrf_required", "test_segment_counter", "test_keyboard", "test_appointment_actions_and_new_appointment",
                    "test_new_message", "test_messages_page", "test_usage_page", "test_security_headers_and_no_secrets",
                    "test_staff_cli", "test_live_reconnects_after_restart", "test_console_clean"]),
]

STATE = {"cluster": None, "browser": None, "servers": [], "fake": None, "cleaned": False, "keep": False, "scratch": None}


class Cluster:
    """A throwaway PostgreSQL (scripts/postgres start), stopped and removed at the end."""

    def __init__(self):
        out = subprocess.run([str(ROOT / "scripts/postgres"), "start"], capture_output=True, text=True, timeout=180)
        if out.returncode != 0:
            raise SystemExit(f"scripts/postgres start failed:\n{out.stderr}")
        self.url = re.search(r"REPLYLINE_TEST_POSTGRES_URL=(\S+)", out.stdout).group(1)
        self.folder = re.search(r"scripts/postgres stop (\S+)", out.stdout).group(1)

    def close(self):
        subprocess.run([str(ROOT / "scripts/postgres"), "stop", self.folder], capture_output=True, timeout=120)


def cleanup():
    if STATE["cleaned"]:
        return
    STATE["cleaned"] = True
    if STATE["browser"] is not None:
        harness.stop_browser(STATE["browser"])
    for server in STATE["servers"]:
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - the watchdog below kills what is left
            pass
    harness.kill_children()
    if STATE["fake"] is not None:
        STATE["fake"].close()
    if STATE["cluster"] is not None:
        STATE["cluster"].close()
    if STATE["scratch"] and not STATE["keep"]:
        harness.remove(STATE["scratch"])


def watchdog(limit):
    def run():
        time.sleep(limit)
        log(f"FAIL: the run exceeded its time limit of {limit} s; killing what it started")
        harness.kill_children()
        if STATE["cluster"] is not None:
            STATE["cluster"].close()
        print(f"TIMEOUT after {limit} s; scratch folder kept: {STATE['scratch']}", flush=True)
        os._exit(3)
    threading.Thread(target=run, daemon=True).start()


class Result(unittest.TextTestResult):
    """Saves a screenshot and the HTML of the page a failing test was on."""

    def capture(self, test):
        world = test_inbox.WORLD
        if world is None or world.driver is None:
            return
        name = test.id().split(".")[-1]
        folder = world.screenshots / "failures"
        folder.mkdir(exist_ok=True)
        try:
            world.driver.save_screenshot(str(folder / f"{name}.png"))
            (folder / f"{name}.html").write_text(world.driver.page_source)
            self.stream.writeln(f"    page at failure: {world.driver.current_url} -> {folder / name}.png/.html")
        except Exception as error:  # noqa: BLE001 - best effort, the failure itself is reported anyway
            self.stream.writeln(f"    (no screenshot: {error})")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.capture(test)

    def addError(self, test, err):
        super().addError(test, err)
        self.capture(test)


def stale_binary_warning(binary):
    built = binary.stat().st_mtime
    newer = [p for p in (ROOT / "Sources").rglob("*") if p.is_file() and p.stat().st_mtime > built]
    if newer:
        newest = max(newer, key=lambda p: p.stat().st_mtime)
        log(f"warning: {len(newer)} source file(s) changed after {binary} was built "
            f"(newest: {newest.relative_to(ROOT)}); the tests run the binary as it is")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build/debug/replyline"))
    parser.add_argument("--postgres", action="store_true", help="run on a throwaway PostgreSQL (scripts/postgres)")
    parser.add_argument("--screenshots", help="folder for the screenshots (default: a new one under /tmp)")
    parser.add_argument("--update-docs", action="store_true", help="copy the desktop thread screenshot to docs/inbox.png")
    parser.add_argument("--only", action="append", default=[], help="run only tests whose name contains this (repeatable)")
    parser.add_argument("--time-limit", type=int, default=300, help="seconds for the whole run (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, databases) even on success")
    args = parser.parse_args()

    started = time.time()
    binary = Path(args.binary).resolve()
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"no replyline binary at {binary}; build it with `swift build` or pass --binary")
    stale_binary_warning(binary)
    screenshots = Path(args.screenshots or tempfile.mkdtemp(prefix="replyline-browser-screenshots.")).resolve()
    screenshots.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="replyline-browser-test."))
    STATE["scratch"], STATE["keep"] = scratch, args.keep
    atexit.register(cleanup)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda n, f: sys.exit(128 + n))
    watchdog(args.time_limit)

    # A private copy of the binary and its resource bundles, so a rebuild meanwhile does not disturb the run.
    copy = scratch / "bin"
    copy.mkdir()
    shutil.copy2(binary, copy / binary.name)
    for bundle in binary.parent.glob("*.resources"):
        shutil.copytree(bundle, copy / bundle.name)
    binary = copy / binary.name
    try:
        usable = subprocess.run([str(binary), "--help"], capture_output=True, timeout=60).returncode == 0
    except OSError as error:
        usable = False
        log(f"{binary}: {error}")
    if not usable:
        raise SystemExit(f"{args.binary} does not run (is it being rebuilt?); try again once `swift build` is done")

    fake = STATE["fake"] = harness.FakeTwilio()
    if args.postgres:
        cluster = STATE["cluster"] = Cluster()
        log(f"PostgreSQL cluster in {cluster.folder}")
        databases = {name: harness.postgres_database(cluster.url, f"browser_{name}") for name in ("main", "auth")}
    else:
        databases = {name: str(scratch / f"{name}.sqlite") for name in ("main", "auth")}
    servers = {}
    for name in ("main", "auth"):
        folder = scratch / name
        folder.mkdir()
        servers[name] = harness.Server(name, binary, databases[name], folder, fake)
        STATE["servers"].append(servers[name])
        servers[name].start()
    log(f"servers on {servers['main'].public_url} (inbox) and {servers['auth'].public_url} (sign-in), "
        f"{'PostgreSQL' if args.postgres else 'SQLite'}; fake Twilio on 127.0.0.1:{fake.port}")
    driver = STATE["browser"] = harness.start_browser(scratch)
    log(f"Chromium {driver.capabilities.get('browserVersion')} headless, ChromeDriver "
        f"{driver.capabilities.get('chrome', {}).get('chromedriverVersion', '?').split(' ')[0]}")
    world = test_inbox.WORLD = test_inbox.World(fake, servers["main"], servers["auth"], driver, screenshots, args.update_docs)
    seeded = time.time()
    world.seed()
    log(f"seeded in {time.time() - seeded:.1f} s")

    suite = unittest.TestSuite()
    for class_name, names in ORDER:
        cls = getattr(test_inbox, class_name)
        for name in names:
            if not args.only or any(part in name for part in args.only):
                suite.addTest(cls(name))
    defined = {name for class_name, _ in ORDER for name in unittest.TestLoader().getTestCaseNames(getattr(test_inbox, class_name))}
    listed = {name for _, names in ORDER for name in names}
    if defined - listed:
        log(f"warning: tests not in run.py's ORDER, not run: {sorted(defined - listed)}")
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=Result)
    result = runner.run(suite)

    for note in world.notes:
        print(f"note: {note}")
    # Pages the tests expect to fail (401, 404, 409, 429...) log "Failed to load resource"; not worth listing.
    severe = [(t, m) for t, level, m in world.console if level == "SEVERE"
              and not ("Failed to load resource" in m and "/assets/" not in m and "/events" not in m)]
    if severe:
        print(f"Chromium console (SEVERE, {len(severe)}, not counting pages that answered an error on purpose):")
        for test, message in severe[:20]:
            print(f"  [{test}] {message[:300]}")
    ok = result.wasSuccessful()
    if not ok:
        STATE["keep"] = True
        print(f"server logs and databases kept in {scratch}")
    print(f"browser tests on {'PostgreSQL' if args.postgres else 'SQLite'}: {result.testsRun - len(result.failures) - len(result.errors)}"
          f"/{result.testsRun} passed in {time.time() - started:.0f} s")
    print(f"screenshots: {screenshots}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
