import Foundation
import ReplylineCore

/// A phone call a voice agent had with a contact, as its events told it.
public struct CallRecord: Sendable, Equatable {
    /// The voice platform's id of the call, unique per business.
    public var callID: String
    public var agent: String
    public var phone: String
    /// Nil while the call is live.
    public var endedAt: Date?
    /// What the call collected, merged over its events.
    public var variables: [String: String]
    /// When its first event arrived.
    public var receivedAt: Date

    public init(callID: String, agent: String, phone: String, endedAt: Date?, variables: [String: String], receivedAt: Date) {
        self.callID = callID
        self.agent = agent
        self.phone = phone
        self.endedAt = endedAt
        self.variables = variables
        self.receivedAt = receivedAt
    }

    /// The variables as stored: a JSON object of strings, keys sorted.
    public var variablesJSON: String { Self.json(variables: variables) }

    public static func json(variables: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a dictionary of strings cannot fail.
        return String(decoding: (try? encoder.encode(variables)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public static func variables(json: String) throws -> [String: String] {
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
        } catch {
            throw StoredValueError("a call's variables are not a JSON object of texts: \(json.prefix(80))")
        }
    }
}

/// Why an SMS a call asked for was not queued.
public enum CallSMSRefusal: String, Sendable, Equatable, Codable, CaseIterable {
    /// The contact opted out; nothing is sent to them.
    case optedOut = "opted_out"
    /// A marketing text needs the contact's prior express written consent, and the store
    /// records none yet.
    case noMarketingConsent = "no_marketing_consent"
}

/// One SMS a call event asks for, ready for the store.
public struct CallSMSRequest: Sendable, Equatable {
    /// The call's idempotency key for it: the action's name, or `body:` and a digest of a
    /// plain text (or the caller's idempotency key).
    public var key: String
    /// The action's name; nil for a plain text sent during the call.
    public var action: String?
    /// `post_call` or `in_call`.
    public var kind: MessageKind
    public var messageClass: SMSAction.MessageClass
    public var body: String
    /// Decided before the store (a marketing text without written consent); nothing is queued.
    public var refusal: CallSMSRefusal?
    public var dueAt: Date
    /// Why it waits, when due later than now: the outbox's note, shown as the message's hold.
    public var holdNote: String?

    public init(
        key: String, action: String?, kind: MessageKind, messageClass: SMSAction.MessageClass, body: String,
        refusal: CallSMSRefusal? = nil, dueAt: Date, holdNote: String? = nil
    ) {
        self.holdNote = holdNote
        self.key = key
        self.action = action
        self.kind = kind
        self.messageClass = messageClass
        self.body = body
        self.refusal = refusal
        self.dueAt = dueAt
    }
}

/// An SMS a call asked for, as it stands: its message (status, history, hold), or why none was queued.
public struct CallSMS: Sendable, Equatable {
    public var key: String
    public var action: String?
    public var kind: MessageKind
    public var messageClass: SMSAction.MessageClass
    public var requestedAt: Date
    /// The rendered text, also of one not sent.
    public var body: String
    public var refusal: CallSMSRefusal?
    /// With its status history and its hold at the time of reading.
    public var message: ThreadMessage?
    /// Messages the contact sent after this SMS and before the next one sent to them.
    public var replies: [StoredMessage]

    public init(
        key: String, action: String?, kind: MessageKind, messageClass: SMSAction.MessageClass, requestedAt: Date, body: String,
        refusal: CallSMSRefusal?, message: ThreadMessage?, replies: [StoredMessage]
    ) {
        self.body = body
        self.key = key
        self.action = action
        self.kind = kind
        self.messageClass = messageClass
        self.requestedAt = requestedAt
        self.refusal = refusal
        self.message = message
        self.replies = replies
    }
}

/// A call and every SMS it asked for, oldest first: the call log.
public struct CallLog: Sendable, Equatable {
    public var call: CallRecord
    public var sms: [CallSMS]

    public init(call: CallRecord, sms: [CallSMS]) {
        self.call = call
        self.sms = sms
    }
}

extension CallLog {
    /// The most replies a call log lists per SMS.
    public static let replyLimit = 20
}

/// A page of call logs, oldest call first, and where the next page starts.
public struct CallLogPage: Sendable, Equatable {
    public var logs: [CallLog]
    public var next: CallCursor?

    public init(logs: [CallLog], next: CallCursor?) {
        self.logs = logs
        self.next = next
    }
}

/// What recording a call event did.
public struct CallEventOutcome: Sendable, Equatable {
    public var log: CallLog
    /// Whether this event created the call (not a retry nor a later event of it).
    public var createdCall: Bool
    /// The messages this event queued; an SMS the call already had is not queued again.
    public var queued: [MessageID]
    /// The keys of the SMS this event recorded, queued or refused.
    public var recorded: [String]

    public init(log: CallLog, createdCall: Bool, queued: [MessageID], recorded: [String]) {
        self.log = log
        self.createdCall = createdCall
        self.queued = queued
        self.recorded = recorded
    }
}

/// A call event that contradicts the call as recorded; nothing was stored.
public enum CallEventConflict: Error, Sendable, Equatable {
    /// The call id is recorded for another phone or agent.
    case differentCall(field: String, recorded: String)
}

/// Where a page of call logs ends: the stored id of its last call. The store continues
/// from that row's own receipt time, so no time is rounded on its way through a cursor.
public struct CallCursor: Sendable, Equatable {
    public var id: Int64

    public init(id: Int64) {
        self.id = id
    }
}

/// The tables of migration v11, the same on both stores but for their types.
public enum CallSchema {
    public static func statements(date: String, generatedID: String, reference: String) -> [String] {
        [
            """
            CREATE TABLE calls (
                id \(generatedID),
                business_id TEXT NOT NULL,
                call_id TEXT NOT NULL,
                agent TEXT NOT NULL,
                contact_id \(reference) NOT NULL REFERENCES contacts(id),
                variables TEXT NOT NULL,
                ended_at \(date),
                created_at \(date) NOT NULL,
                UNIQUE (business_id, call_id)
            )
            """,
            "CREATE INDEX calls_by_time ON calls (business_id, created_at, id)",
            """
            CREATE TABLE call_sms (
                id \(generatedID),
                call_ref \(reference) NOT NULL REFERENCES calls(id),
                key TEXT NOT NULL,
                action TEXT,
                kind TEXT NOT NULL,
                class TEXT NOT NULL,
                body TEXT NOT NULL,
                message_id \(reference) REFERENCES messages(id),
                refusal TEXT,
                created_at \(date) NOT NULL,
                UNIQUE (call_ref, key),
                CHECK ((message_id IS NULL) <> (refusal IS NULL))
            )
            """,
            "CREATE INDEX call_sms_by_message ON call_sms (message_id) WHERE message_id IS NOT NULL",
        ]
    }
}
