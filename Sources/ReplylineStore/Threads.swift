import Foundation
import ReplylineCore

/// One row of a business's inbox: the conversation with its contact.
public struct ConversationSummary: Sendable, Hashable {
    public var id: ConversationID
    public var phone: String
    public var name: String?
    public var consent: ConsentState
    public var unreadCount: Int
    public var needsReply: Bool
    public var staffFlag: String?
    public var lastMessageAt: Date
    public var lastMessagePreview: String

    public init(
        id: ConversationID, phone: String, name: String?, consent: ConsentState, unreadCount: Int, needsReply: Bool, staffFlag: String?,
        lastMessageAt: Date, lastMessagePreview: String
    ) {
        self.id = id
        self.phone = phone
        self.name = name
        self.consent = consent
        self.unreadCount = unreadCount
        self.needsReply = needsReply
        self.staffFlag = staffFlag
        self.lastMessageAt = lastMessageAt
        self.lastMessagePreview = lastMessagePreview
    }
}

/// Which conversations an inbox page shows; every condition set must hold.
public struct ConversationFilter: Sendable, Hashable {
    public var unreadOnly: Bool
    public var needsReplyOnly: Bool
    public var optedOutOnly: Bool
    /// Text to find in the contact's name, the phone's digits or the thread's messages,
    /// case-insensitively; nil or empty finds every conversation.
    public var search: String?

    public init(unreadOnly: Bool = false, needsReplyOnly: Bool = false, optedOutOnly: Bool = false, search: String? = nil) {
        self.unreadOnly = unreadOnly
        self.needsReplyOnly = needsReplyOnly
        self.optedOutOnly = optedOutOnly
        self.search = search
    }

    /// The search as a LIKE pattern with `\` escaping `%`, `_` and itself; nil when there is no search.
    public var likePattern: String? {
        guard let search = search?.trimmingCharacters(in: .whitespacesAndNewlines), !search.isEmpty else { return nil }
        var pattern = "%"
        for character in search {
            if character == "%" || character == "_" || character == "\\" { pattern.append("\\") }
            pattern.append(character)
        }
        return pattern + "%"
    }

    /// The search's digits as a LIKE pattern when it reads as (part of) a phone number, such
    /// as `415 555-01`: three digits or more and nothing but digits, spaces, `+`, `-`, `.` and brackets.
    public var phoneDigitsPattern: String? {
        guard let search = search?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        let digits = search.filter(\.isASCIIDigit)
        guard digits.count >= 3, search.allSatisfy({ $0.isASCIIDigit || " +-.()".contains($0) }) else { return nil }
        return "%" + digits + "%"
    }
}

/// What the inbox counts for a business: conversations with unread messages, those
/// messages, and conversations waiting for a reply. Counting stops past `limit`
/// conversations, so a page costs the same however large the backlog: the counts are
/// exact up to it, and a page shows "999+" beyond.
public struct InboxCounts: Sendable, Hashable {
    public static let limit = 999

    public var unreadConversations: Int
    public var unreadMessages: Int
    public var needsReply: Int

    public init(unreadConversations: Int, unreadMessages: Int, needsReply: Int) {
        self.unreadConversations = unreadConversations
        self.unreadMessages = unreadMessages
        self.needsReply = needsReply
    }

    /// A count as a page shows it: exact up to `limit`, then "999+".
    public static func text(_ count: Int) -> String { count > limit ? "\(limit)+" : String(count) }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Where a page of conversations continues: the activity time and id of the last row seen.
public struct ConversationCursor: Sendable, Hashable {
    public var lastMessageAt: Date
    public var id: ConversationID

    public init(lastMessageAt: Date, id: ConversationID) {
        self.lastMessageAt = lastMessageAt
        self.id = id
    }
}

/// A delivery-status change of one message, oldest first.
public struct StatusEvent: Sendable, Hashable, Codable {
    public var messageId: MessageID
    public var status: MessageStatus
    public var errorCode: String?
    public var errorMessage: String?
    public var createdAt: Date

    public init(messageId: MessageID, status: MessageStatus, errorCode: String?, errorMessage: String?, createdAt: Date) {
        self.messageId = messageId
        self.status = status
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.createdAt = createdAt
    }
}

/// Why a manual message was not queued.
public enum SendRefusal: Error, Sendable, Equatable {
    case optedOut(since: Date?)
}

/// A contact's thread with a business, oldest message first.
public struct ConversationThread: Sendable {
    public var contact: StoredContact
    public var conversation: StoredConversation
    public var messages: [StoredMessage]

    public init(contact: StoredContact, conversation: StoredConversation, messages: [StoredMessage]) {
        self.contact = contact
        self.conversation = conversation
        self.messages = messages
    }
}

/// One message of a thread page, with its status history (oldest first) and, while the
/// outbox holds it, when it will go and why it waits.
public struct ThreadMessage: Sendable, Equatable {
    public var message: StoredMessage
    public var history: [StatusEvent]
    public var hold: MessageHold?

    public init(message: StoredMessage, history: [StatusEvent], hold: MessageHold? = nil) {
        self.message = message
        self.history = history
        self.hold = hold
    }
}

/// A page of one thread, oldest message first.
public struct ThreadPage: Sendable, Equatable {
    public var messages: [ThreadMessage]
    /// True when older messages exist beyond this page.
    public var hasOlder: Bool

    public init(messages: [ThreadMessage], hasOlder: Bool) {
        self.messages = messages
        self.hasOlder = hasOlder
    }
}

/// A message the outbox holds: pending with a due time later than now. Reminders wait for
/// their time; a message the worker deferred (quiet hours, cadence, an earlier message to
/// the same contact, a retry) waits with the reason it noted. Staff see both in the thread.
public struct MessageHold: Sendable, Equatable {
    /// When the outbox will try it next.
    public var until: Date
    /// The outbox's note on its last try; nil for a message not yet tried.
    public var reason: String?

    public init(until: Date, reason: String?) {
        self.until = until
        self.reason = reason
    }
}
