"""The reference implementation of Replyline's inbound webhook, as a team would write it
from Twilio's documentation: Flask, the official twilio helper (RequestValidator,
MessagingResponse) and sqlite3, run under gunicorn. `scripts/loadtest` drives it with the
same signed requests as Replyline and prints the ratio.

Like Replyline it checks the signature, stores each MessageSid once (a retry gets the
stored reply), handles STOP/START/HELP, C and R against an appointment, and commits
durably (WAL, synchronous=FULL) before answering.
"""
import os
import sqlite3

from flask import Flask, Response, g, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

DATABASE = os.environ["REFERENCE_DATABASE"]
PUBLIC_URL = os.environ["REFERENCE_PUBLIC_URL"].rstrip("/")
validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
app = Flask(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (sid TEXT PRIMARY KEY, phone TEXT NOT NULL, body TEXT NOT NULL, reply TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (phone TEXT PRIMARY KEY, opted_out INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS appointments (phone TEXT PRIMARY KEY, service TEXT NOT NULL, state TEXT NOT NULL);
"""


def db():
    if "db" not in g:
        g.db = sqlite3.connect(DATABASE, timeout=30, isolation_level=None)
        g.db.execute("PRAGMA journal_mode=WAL")
        g.db.execute("PRAGMA synchronous=FULL")
    return g.db


@app.teardown_appcontext
def close(_error):
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def answer(phone, body, connection):
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


@app.post("/webhooks/twilio/messages")
def inbound():
    url = PUBLIC_URL + request.full_path.rstrip("?")
    if not validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", "")):
        return Response("bad signature", status=403)
    sid, phone, body = request.form.get("MessageSid"), request.form.get("From"), request.form.get("Body", "")
    if not sid or not phone:
        return Response("missing MessageSid or From", status=400)
    connection = db()
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = connection.execute("SELECT reply FROM messages WHERE sid = ?", (sid,)).fetchone()
        if row:
            connection.execute("ROLLBACK")
            return Response(row[0], mimetype="text/xml")
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
    return Response(reply, mimetype="text/xml")


with sqlite3.connect(DATABASE) as setup:
    setup.executescript(SCHEMA)
