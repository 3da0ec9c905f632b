import Foundation

/// A closed set of named values: a config key's or a command-line option's choices, parsed by name
/// (`init(rawValue:)`) with one message for a wrong name (`problem`), in YAML configs (`YAMLValue.option`) and
/// JSON files; on the command line ArgumentParser lists the same names.
public protocol ChoiceOption: RawRepresentable, CaseIterable, Sendable where RawValue == String {}

extension ChoiceOption {
    /// The accepted names, in declaration order.
    public static var choices: [String] { allCases.map(\.rawValue) }

    /// `one of: a, b, c`.
    public static var expectedChoices: String { "one of: " + choices.joined(separator: ", ") }

    /// The one message for a name that is not a choice: `'x' is not one of: a, b, c`.
    public static func problem(_ text: String) -> String { "'\(text)' is not \(expectedChoices)" }
}

extension YAMLValue {
    /// One of a `ChoiceOption`'s names.
    /// - Throws: `ConfigError` naming the file, line and key, the value seen and the choices.
    public func option<T: ChoiceOption>(_ type: T.Type) throws -> T {
        let text = try string()
        guard let value = T(rawValue: text) else { throw fail(T.problem(text)) }
        return value
    }
}
