"""A model of Replyline's keyword state machine, for the scripts that check what the
server stored (scripts/crashtest, scripts/instances).

The model of Sources/ReplylineCore/Conversation/ConversationEngine.swift, with the
keyword lists read from a rules file. `Engine.decide(contact, text)` says what the engine
does with one inbound text given the contact's state; replaying a contact's stored
messages in the order they were applied must give the stored intents, changes and
replies.
"""
import re
import unicodedata
from pathlib import Path


def read_keywords(rules_path):
    """The keyword lists and custom keywords of a rules file (the flow lists this file uses)."""
    keywords, custom, section = {}, set(), None
    for line in Path(rules_path).read_text().splitlines():
        if re.match(r"^\S", line):
            section = line.split(":")[0].strip()
            continue
        if section == "keywords":
            m = re.match(r"^\s+(\w+):\s*\[(.*)\]\s*$", line)
            if m:
                keywords[m.group(1)] = [w.strip().strip("'\"") for w in m.group(2).split(",") if w.strip()]
        elif section == "custom":
            m = re.match(r"^\s+([^\s:#][^:]*):", line)
            if m:
                custom.add(m.group(1).strip().strip("'\""))
    for needed in ("confirm", "reschedule", "cancel", "opt_out", "opt_in", "help"):
        if needed not in keywords:
            raise SystemExit(f"{rules_path}: could not read keywords.{needed} (the model reads flow lists)")
    keywords.setdefault("opt_in_while_opted_out", [])
    return keywords, custom


CARRIER_OPT_OUT = {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT", "OPT OUT",
                   "OPT-OUT", "REMOVE", "ARRET"}
OPEN_STATES = {"scheduled", "awaiting_reply", "confirmed", "reschedule_requested"}


def is_trimmed(ch):
    if ord(ch) < 0x80:
        return not ch.isalnum()
    return unicodedata.category(ch)[0] in "ZCPSM" or unicodedata.category(ch) == "Cn"


def normalize(text):
    text = unicodedata.normalize("NFKC", text)
    start, end = 0, len(text)
    while start < end and is_trimmed(text[start]):
        start += 1
    while end > start and is_trimmed(text[end - 1]):
        end -= 1
    return " ".join(text[start:end].split()).upper()


def is_revocation(normalized):
    markers = ["STOP", "UNSUBSCRIBE", "REMOVE", "TAKE ME OFF", "TEXT", "NO MORE", "OPT ME"]
    if not any(m in normalized for m in markers):
        return False
    words = [w for w in re.split(r"[^\w]|[\d_]", normalized) if w]
    if not words or len(words) > 12:
        return False
    joined = " " + " ".join(words) + " "
    phrases = [" STOP TEXTING ", " STOP TEXTS ", " STOP MESSAGING ", " STOP SENDING ", " STOP CONTACTING ", " UNSUBSCRIBE ",
               " OPT ME OUT ", " REMOVE ME ", " TAKE ME OFF ", " DONT TEXT ", " DO NOT TEXT ", " DON T TEXT ",
               " NO MORE TEXTS ", " NO MORE MESSAGES ", " STOP ALL "]
    if any(p in joined for p in phrases):
        return True
    polite = {"PLEASE", "PLS", "PLZ", "NOW", "IT", "THANKS", "THANK", "YOU", "STOP", "JUST", "OK", "OKAY"}
    return "STOP" in words and len(words) <= 4 and all(w in polite for w in words)


class Engine:
    def __init__(self, rules_path):
        keywords, custom = read_keywords(rules_path)
        self.table = {}
        for intent, words in keywords.items():
            if intent != "opt_in_while_opted_out":
                for w in words:
                    self.table[w] = ("keyword", intent)
        for word in custom:
            self.table[word] = ("custom", word)
        self.opt_in_while_out = set(keywords["opt_in_while_opted_out"])

    def decide(self, contact, text):
        """contact: dict consent, appointments {id: [starts_at, state]}, acked_unrecognized.
        Returns (intent, consent change (to, source) or None, appointment change (id, from, to)
        or None, number of replies, whether it is the unrecognized acknowledgement)."""
        t = normalize(text)
        out = contact["consent"] == "opted_out"
        if out and t in self.opt_in_while_out:
            return self.opt_in(contact)
        match = self.table.get(t)
        kind, word = match if match else (None, None)
        if kind == "keyword":
            if word == "help":
                return ("help", None, None, 1, False)
            if word == "opt_out":
                return self.opt_out(contact, "keyword")
            if word == "opt_in":
                return self.opt_in(contact)
            if word == "cancel":
                if t in CARRIER_OPT_OUT and self.awaiting(contact) is None:
                    return self.opt_out(contact, "keyword")
                return self.act("cancel", contact)
            if word in ("confirm", "reschedule"):
                return self.act(word, contact)
        if kind == "custom":
            return (f"custom:{word}", None, None, 0 if out else 1, False)
        if is_revocation(t):
            return self.opt_out(contact, "inferred")
        # Conversation: the unrecognized reply at most once per window (24 h > any run).
        if contact["consent"] == "opted_in" and not contact["acked_unrecognized"]:
            return ("conversation", None, None, 1, True)
        return ("conversation", None, None, 0, False)

    @staticmethod
    def opt_out(contact, source):
        if contact["consent"] == "opted_out":
            return ("opt_out", None, None, 0, False)
        return ("opt_out", ("opted_out", source), None, 1, False)

    @staticmethod
    def opt_in(contact):
        change = ("opted_in", "keyword") if contact["consent"] != "opted_in" else None
        return ("opt_in", change, None, 1, False)

    @staticmethod
    def awaiting(contact):
        waiting = [(starts, aid) for aid, (starts, state) in contact["appointments"].items() if state == "awaiting_reply"]
        return min(waiting)[1] if waiting else None

    def act(self, action, contact):
        target = self.awaiting(contact)
        if target is None:
            open_ = [(starts, aid) for aid, (starts, state) in contact["appointments"].items()
                     if state not in ("completed", "no_show")]
            target = min(open_)[1] if open_ else None
        replies = 0 if contact["consent"] == "opted_out" else 1
        if target is None:
            return (action, None, None, replies, False)
        state = contact["appointments"][target][1]
        if state == "cancelled" and action != "cancel":
            nxt = None
        elif action == "confirm":
            nxt = None if state == "confirmed" else "confirmed"
        elif action == "reschedule":
            nxt = None if state == "reschedule_requested" else "reschedule_requested"
        else:
            nxt = None if state == "cancelled" else "cancelled"
        change = None
        if nxt is not None and state in OPEN_STATES and nxt != state and nxt != "scheduled":
            change = (target, state, nxt)
        return (action, None, change, replies, False)

