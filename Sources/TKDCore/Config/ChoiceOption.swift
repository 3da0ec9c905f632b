import Foundation

/// A closed set of named values: a config key's or a command-line option's choices. One parser and one
/// error text serve YAML configs (`YAMLValue.option`), JSON files (`parse(_:field:)`) and the command line.
public protocol ChoiceOption: RawRepresentable, CaseIterable, Sendable where RawValue == String {}

extension ChoiceOption {
    /// The accepted names, in declaration order.
    public static var choices: [String] { allCases.map(\.rawValue) }

    /// `one of: a, b, c`.
    public static var expectedChoices: String { "one of: " + choices.joined(separator: ", ") }

    /// The value named `text`.
    /// - Throws: `CoreError.invalidValue` naming `field`, the text seen and the choices.
    public static func parse(_ text: String, field: String) throws -> Self {
        guard let value = Self(rawValue: text) else {
            throw CoreError.invalidValue(field: field, value: text, expected: expectedChoices)
        }
        return value
    }
}

extension YAMLValue {
    /// One of a `ChoiceOption`'s names.
    /// - Throws: `ConfigError` naming the file, line and key, the value seen and the choices.
    public func option<T: ChoiceOption>(_ type: T.Type) throws -> T {
        let text = try string()
        guard let value = T(rawValue: text) else { throw fail("'\(text)' is not \(T.expectedChoices)") }
        return value
    }
}
