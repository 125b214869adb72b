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
