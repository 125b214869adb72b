/// A reply template such as `Hi [CustomerName], your [Service] is on [Date].`
///
/// Variables are written `[CustomerName]` or `<customer_name>`; both name the same value.
/// Parsing happens once, when the rules load, so an unknown variable is a load-time error
/// and rendering cannot fail.
public struct Template: Sendable, Hashable {
    public enum Variable: String, Sendable, CaseIterable, Hashable {
        case customerName = "CustomerName"
        case service = "Service"
        case date = "Date"
        case time = "Time"
        case amount = "Amount"
        case business = "Business"
        case phone = "Phone"
        /// The business's street address (`business.address`); only rules that set it may use it.
        case address = "Address"
        /// A call summary; only the post-call reply has one.
        case summary = "Summary"

        /// The `<snake_case>` spelling.
        public var snakeName: String {
            var result = ""
            for character in rawValue {
                if character.isUppercase, !result.isEmpty { result.append("_") }
                result.append(Character(character.lowercased()))
            }
            return result
        }

        init?(spelling: String) {
            if let variable = Variable(rawValue: spelling) {
                self = variable
            } else if let variable = Variable.allCases.first(where: { $0.snakeName == spelling }) {
                self = variable
            } else {
                return nil
            }
        }
    }

    enum Part: Sendable, Hashable {
        case text(String)
        case variable(Variable)
    }

    public struct UnknownVariable: Error, Sendable, Equatable {
        public var name: String
    }

    public let source: String
    let parts: [Part]

    public var variables: Set<Variable> {
        Set(parts.compactMap { if case .variable(let variable) = $0 { variable } else { nil } })
    }

    /// Parses `source`; a bracketed word that is not a known variable throws. Brackets
    /// that do not hold a single identifier (`[sic]` aside) are plain text.
    public init(_ source: String) throws(UnknownVariable) {
        self.source = source
        var parts: [Part] = []
        var text = ""
        var index = source.startIndex
        while index < source.endIndex {
            let character = source[index]
            if character == "[" || character == "<",
                let close = source[index...].firstIndex(of: character == "[" ? "]" : ">")
            {
                let name = source[source.index(after: index)..<close]
                if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" }) {
                    guard let variable = Variable(spelling: String(name)) else {
                        throw UnknownVariable(name: "\(character)\(name)\(character == "[" ? "]" : ">")")
                    }
                    if !text.isEmpty { parts.append(.text(text)) }
                    text = ""
                    parts.append(.variable(variable))
                    index = source.index(after: close)
                    continue
                }
            }
            text.append(character)
            index = source.index(after: index)
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    /// Fills the template; a variable without a value renders as an empty string.
    public func render(_ values: [Variable: String]) -> String {
        render { values[$0] }
    }

    /// Fills the template, asking `value` only for the variables it holds.
    public func render(_ value: (Variable) -> String?) -> String {
        var result = ""
        for part in parts {
            switch part {
            case .text(let text): result += text
            case .variable(let variable): result += value(variable) ?? ""
            }
        }
        return result
    }
}
