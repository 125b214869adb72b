import Mustache

// The pages' view models name their fields for the templates here. swift-mustache finds a
// field of any other value through `Mirror`, once per name per use: on a thread page that
// was most of its 40 ms of CPU (reflection metadata and demangling). A template that asks
// for a field not listed gets nothing, like a misspelt name; WebInboxTests render every page.

extension ConversationRowView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "phone": phone
        case "href": href
        case "name": name
        case "at": at
        case "atText": atText
        case "unreadCount": unreadCount
        case "unread": unread
        case "preview": preview
        case "needsReply": needsReply
        case "optedOut": optedOut
        case "current": current
        case "classes": classes
        default: nil
        }
    }
}

extension FilterChipView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": name
        case "label": label
        case "href": href
        case "current": current
        case "count": count
        default: nil
        }
    }
}

extension ThreadItemView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "day": day
        case "message": message
        default: nil
        }
    }
}

extension MessageView.Media: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "url": url
        case "image": image
        case "label": label
        default: nil
        }
    }
}

extension MessageView.HistoryEntry: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "status": status
        case "at": at
        case "atText": atText
        case "errorCode": errorCode
        default: nil
        }
    }
}

extension MessageView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "inbound": inbound
        case "direction": direction
        case "body": body
        case "at": at
        case "atText": atText
        case "media": media
        case "status": status
        case "statusLabel": statusLabel
        case "history": history
        case "errorHelp": errorHelp
        case "held": held
        default: nil
        }
    }
}

extension AppointmentView.Action: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "value": value
        case "label": label
        default: nil
        }
    }
}

extension AppointmentView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "service": service
        case "at": at
        case "atText": atText
        case "state": state
        case "stateLabel": stateLabel
        case "actionPath": actionPath
        case "actions": actions
        case "hasActions": hasActions
        default: nil
        }
    }
}

extension ConsentEntryView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "text": text
        case "at": at
        case "atText": atText
        default: nil
        }
    }
}

extension WebPages.ErrorView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": page
        case "message": message
        default: nil
        }
    }
}

extension PageChrome: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "bodyClass": bodyClass
        case "stylesheet": stylesheet
        case "script": script
        case "signedIn": signedIn
        default: nil
        }
    }
}

extension PageChrome.SignedIn: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "businessName": businessName
        case "email": email
        case "csrfToken": csrfToken
        case "unread": unread
        case "inbox": inbox
        case "newMessage": newMessage
        case "messages": messages
        case "usage": usage
        default: nil
        }
    }
}

extension InboxPagesController.ListView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "filters": filters
        case "search": search
        case "filter": filter
        case "rows": rows
        case "empty": empty
        case "next": next
        default: nil
        }
    }
}

extension InboxPagesController.ThreadView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "phone": phone
        case "phoneText": phoneText
        case "older": older
        case "items": items
        case "optedOut": optedOut
        case "composeAction": composeAction
        case "canSend": canSend
        case "draft": draft
        case "error": error
        case "notice": notice
        case "segments": segments
        case "quickReplies": quickReplies
        case "hasQuickReplies": hasQuickReplies
        default: nil
        }
    }
}

extension InboxPagesController.ClientView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": name
        case "phoneText": phoneText
        case "consent": consent
        case "consentLabel": consentLabel
        case "ledger": ledger
        case "appointments": appointments
        case "hasAppointments": hasAppointments
        case "newAppointmentAction": newAppointmentAction
        case "timeZone": timeZone
        default: nil
        }
    }
}

extension InboxPagesController.InboxView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": page
        case "list": list
        case "thread": thread
        case "client": client
        default: nil
        }
    }
}

extension InboxPagesController.NewMessageView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": page
        case "phone": phone
        case "body": body
        case "error": error
        case "segments": segments
        default: nil
        }
    }
}

extension ReportsPagesController.MessageRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "href": href
        case "contact": contact
        case "body": body
        case "at": at
        case "atText": atText
        case "status": status
        case "statusLabel": statusLabel
        case "reason": reason
        default: nil
        }
    }
}

extension ReportsPagesController.MessagesView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": page
        case "filters": filters
        case "rows": rows
        case "empty": empty
        case "next": next
        default: nil
        }
    }
}

extension ReportsPagesController.Figure: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": label
        case "value": value
        default: nil
        }
    }
}

extension ReportsPagesController.Bar: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "x": x
        case "y": y
        case "height": height
        case "label": label
        case "tick": tick
        default: nil
        }
    }
}

extension ReportsPagesController.ErrorRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "code": code
        case "count": count
        case "meaning": meaning
        default: nil
        }
    }
}

extension ReportsPagesController.UsageView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": page
        case "month": month
        case "figures": figures
        case "rates": rates
        case "bars": bars
        case "chartLabel": chartLabel
        case "chartMax": chartMax
        case "errors": errors
        case "noErrors": noErrors
        default: nil
        }
    }
}

extension SignInController.SignInView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "page": page
        case "csrfToken": csrfToken
        case "next": next
        case "email": email
        case "error": error
        default: nil
        }
    }
}
