import Mustache

// The pages' view models name their fields for the templates here. swift-mustache finds a
// field of any other value through `Mirror`, once per name per use: on a thread page that
// was most of its 40 ms of CPU (reflection metadata and demangling). A template that asks
// for a field not listed gets nothing, like a misspelt name; WebInboxTests render every page.

extension ConversationRowView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "phone": self.phone
        case "href": self.href
        case "name": self.name
        case "at": self.at
        case "atText": self.atText
        case "unreadCount": self.unreadCount
        case "unread": self.unread
        case "preview": self.preview
        case "needsReply": self.needsReply
        case "optedOut": self.optedOut
        case "current": self.current
        case "classes": self.classes
        default: nil
        }
    }
}

extension FilterChipView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "label": self.label
        case "href": self.href
        case "current": self.current
        case "count": self.count
        default: nil
        }
    }
}

extension ThreadItemView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "day": self.day
        case "message": self.message
        default: nil
        }
    }
}

extension MessageView.Media: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "url": self.url
        case "image": self.image
        case "label": self.label
        default: nil
        }
    }
}

extension MessageView.HistoryEntry: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "status": self.status
        case "at": self.at
        case "atText": self.atText
        case "errorCode": self.errorCode
        default: nil
        }
    }
}

extension MessageView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": self.id
        case "inbound": self.inbound
        case "direction": self.direction
        case "body": self.body
        case "at": self.at
        case "atText": self.atText
        case "media": self.media
        case "status": self.status
        case "statusLabel": self.statusLabel
        case "history": self.history
        case "errorHelp": self.errorHelp
        case "held": self.held
        default: nil
        }
    }
}

extension AppointmentView.Action: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "value": self.value
        case "label": self.label
        default: nil
        }
    }
}

extension AppointmentView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": self.id
        case "service": self.service
        case "at": self.at
        case "atText": self.atText
        case "state": self.state
        case "stateLabel": self.stateLabel
        case "actionPath": self.actionPath
        case "actions": self.actions
        case "hasActions": self.hasActions
        default: nil
        }
    }
}

extension ConsentEntryView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "text": self.text
        case "at": self.at
        case "atText": self.atText
        default: nil
        }
    }
}

extension WebPages.ErrorView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": self.page
        case "message": self.message
        default: nil
        }
    }
}

extension PageChrome: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": self.title
        case "bodyClass": self.bodyClass
        case "stylesheet": self.stylesheet
        case "script": self.script
        case "signedIn": self.signedIn
        default: nil
        }
    }
}

extension PageChrome.SignedIn: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "businessName": self.businessName
        case "email": self.email
        case "csrfToken": self.csrfToken
        case "unread": self.unread
        case "inbox": self.inbox
        case "newMessage": self.newMessage
        case "messages": self.messages
        case "usage": self.usage
        default: nil
        }
    }
}

extension InboxPagesController.ListView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "filters": self.filters
        case "search": self.search
        case "filter": self.filter
        case "rows": self.rows
        case "empty": self.empty
        case "next": self.next
        default: nil
        }
    }
}

extension InboxPagesController.ThreadView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": self.title
        case "phone": self.phone
        case "phoneText": self.phoneText
        case "older": self.older
        case "items": self.items
        case "optedOut": self.optedOut
        case "composeAction": self.composeAction
        case "canSend": self.canSend
        case "draft": self.draft
        case "error": self.error
        case "notice": self.notice
        case "segments": self.segments
        case "quickReplies": self.quickReplies
        case "hasQuickReplies": self.hasQuickReplies
        default: nil
        }
    }
}

extension InboxPagesController.ClientView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "phoneText": self.phoneText
        case "consent": self.consent
        case "consentLabel": self.consentLabel
        case "ledger": self.ledger
        case "appointments": self.appointments
        case "hasAppointments": self.hasAppointments
        case "newAppointmentAction": self.newAppointmentAction
        case "timeZone": self.timeZone
        default: nil
        }
    }
}

extension InboxPagesController.InboxView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": self.page
        case "list": self.list
        case "thread": self.thread
        case "client": self.client
        default: nil
        }
    }
}

extension InboxPagesController.NewMessageView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": self.page
        case "phone": self.phone
        case "body": self.body
        case "error": self.error
        case "segments": self.segments
        default: nil
        }
    }
}

extension ReportsPagesController.MessageRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": self.id
        case "href": self.href
        case "contact": self.contact
        case "body": self.body
        case "at": self.at
        case "atText": self.atText
        case "status": self.status
        case "statusLabel": self.statusLabel
        case "reason": self.reason
        default: nil
        }
    }
}

extension ReportsPagesController.MessagesView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": self.page
        case "filters": self.filters
        case "rows": self.rows
        case "empty": self.empty
        case "next": self.next
        default: nil
        }
    }
}

extension ReportsPagesController.Figure: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": self.label
        case "value": self.value
        default: nil
        }
    }
}

extension ReportsPagesController.Bar: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "x": self.x
        case "y": self.y
        case "height": self.height
        case "label": self.label
        case "tick": self.tick
        default: nil
        }
    }
}

extension ReportsPagesController.ErrorRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "code": self.code
        case "count": self.count
        case "meaning": self.meaning
        default: nil
        }
    }
}

extension ReportsPagesController.UsageView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": self.page
        case "month": self.month
        case "figures": self.figures
        case "rates": self.rates
        case "bars": self.bars
        case "chartLabel": self.chartLabel
        case "chartMax": self.chartMax
        case "errors": self.errors
        case "noErrors": self.noErrors
        default: nil
        }
    }
}

extension SignInController.SignInView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": self.page
        case "csrfToken": self.csrfToken
        case "next": self.next
        case "email": self.email
        case "error": self.error
        default: nil
        }
    }
}
