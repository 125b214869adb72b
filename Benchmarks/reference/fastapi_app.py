"""The FastAPI reference: Replyline's inbound webhook as a team would write it with FastAPI
on uvicorn, the official twilio helper (RequestValidator, MessagingResponse) and sqlite3.
`scripts/loadtest` drives it with the same signed requests as Replyline and app.py (the
Flask reference) and prints the ratio.

It behaves as app.py does: the same route, the signature checked on the exact URL, each
MessageSid stored once (a retry gets the stored reply), STOP/START/HELP, C and R against
an appointment, and a durable commit (WAL, synchronous=FULL) before answering; the same
schema, created on start, and the same replies and status codes.

The endpoint is `async def` and reads the form body on the event loop. Each worker process
has one sqlite3 connection, opened on first use, and runs its transaction on the event
loop: a process never contends with itself for SQLite's write lock, only with the other
workers, and the processes give the concurrency, as gunicorn's sync workers do for
app.py. Measured here (2026-12-02, 5 s runs at 2 and 4 workers, taken in turn) against
the two ways that keep the loop free, this was the strongest: the same one connection
used from a worker thread, one at a time (anyio.to_thread with a limiter of 1), served
594-665 requests/s where this served 704-842 (presumably, on two cores shared with the
load generator, the thread hops cost more than a commit's wait on the loop); a connection per
request in FastAPI's default threadpool, as app.py opens one per request, 478-594 with
socket errors, at 2, 4 and 8 workers in an earlier round (up to 40 threads per process
wait on SQLite's busy handler).

Run with uvicorn's own worker processes, as scripts/loadtest does:

    uvicorn fastapi_app:app --workers N --no-access-log --log-level warning

gunicorn with uvicorn workers (`gunicorn -k uvicorn.workers.UvicornWorker`) serves the same
processes under another supervisor and measured the same here (573-651 against 594-665
requests/s with the threaded variant), so uvicorn alone it is.
"""
import os
import sqlite3

from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

DATABASE = os.environ["REFERENCE_DATABASE"]
PUBLIC_URL = os.environ["REFERENCE_PUBLIC_URL"].rstrip("/")
validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (sid TEXT PRIMARY KEY, phone TEXT NOT NULL, body TEXT NOT NULL, reply TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (phone TEXT PRIMARY KEY, opted_out INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS appointments (phone TEXT PRIMARY KEY, service TEXT NOT NULL, state TEXT NOT NULL);
"""

_connection = None


def db():
    """This worker process's connection, opened on first use (after uvicorn has started the process)."""
    global _connection
    if _connection is None:
        _connection = sqlite3.connect(DATABASE, timeout=30, isolation_level=None)
        _connection.execute("PRAGMA journal_mode=WAL")
        _connection.execute("PRAGMA synchronous=FULL")
    return _connection


def answer(phone, body, connection):
    # The same as app.py's answer().
    word = body.strip().strip("!.?").upper()
    row = connection.execute("SELECT opted_out FROM contacts WHERE phone = ?", (phone,)).fetchone()
    opted_out = bool(row and row[0])
    if word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"):
        connection.execute("INSERT INTO contacts (phone, opted_out) VALUES (?, 1) ON CONFLICT(phone) DO UPDATE SET opted_out = 1", (phone,))
        return None if opted_out else "You're unsubscribed. Reply START to resubscribe."
    if word in ("START", "UNSTOP"):
        connection.execute("INSERT INTO contacts (phone, opted_out) VALUES (?, 0) ON CONFLICT(phone) DO UPDATE SET opted_out = 0", (phone,))
        return "You're resubscribed."
    if word in ("HELP", "INFO"):
        return "Bright Smile Dental: call (555) 010-4477. Msg&data rates may apply. Reply STOP to opt out."
    if opted_out:
        return None
    if word in ("C", "CONFIRM", "Y", "YES", "R"):
        state = "confirmed" if word != "R" else "reschedule_requested"
        changed = connection.execute("UPDATE appointments SET state = ? WHERE phone = ?", (state, phone)).rowcount
        return f"Your appointment is {state.replace('_', ' ')}." if changed else "We couldn't find an upcoming appointment for you."
    return "Thanks, we got your message. Someone will reply soon."


def store(sid, phone, body):
    """The stored reply for a retried MessageSid, or the new one, committed durably."""
    connection = db()
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = connection.execute("SELECT reply FROM messages WHERE sid = ?", (sid,)).fetchone()
        if row:
            connection.execute("ROLLBACK")
            return row[0]
        text = answer(phone, body, connection)
        twiml = MessagingResponse()
        if text:
            twiml.message(text)
        reply = str(twiml)
        connection.execute("INSERT INTO messages (sid, phone, body, reply) VALUES (?, ?, ?, ?)", (sid, phone, body, reply))
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
    return reply


def first(form, name, default=None):
    """A field's first value, as Flask's request.form.get gives (Starlette's get gives the last)."""
    values = form.getlist(name)
    return values[0] if values else default


@app.post("/webhooks/twilio/messages")
async def inbound(request: Request):
    form = await request.form()
    # The exact URL Twilio signed: as app.py's request.full_path.rstrip("?").
    url = PUBLIC_URL + (request.url.path + "?" + request.url.query).rstrip("?")
    if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
        # text/html, as Flask's Response answers by default, so both references answer alike.
        return Response("bad signature", status_code=403, media_type="text/html")
    sid, phone, body = first(form, "MessageSid"), first(form, "From"), first(form, "Body", "")
    if not sid or not phone:
        return Response("missing MessageSid or From", status_code=400, media_type="text/html")
    # On the event loop on purpose: see the docstring.
    reply = store(sid, phone, body)
    return Response(reply, media_type="text/xml")


with sqlite3.connect(DATABASE) as setup:
    setup.executescript(SCHEMA)
