import Foundation

/// Errors raised by TKDCore. Every message names the object (path, field), the value seen and
/// what was expected, in the form `stage: what failed; seen; expected. Hint: …`.
public enum CoreError: Error, Equatable, Sendable {
    /// A file could not be read, written or renamed.
    case io(path: String, reason: String)
    /// A JSON / JSON Lines document did not decode.
    case malformedJSON(path: String, line: Int?, reason: String)
    /// A command-line or configuration value is out of its domain.
    case invalidValue(field: String, value: String, expected: String)
}

extension CoreError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .io(path, reason):
            return "io: \(path): \(reason)"
        case let .malformedJSON(path, line, reason):
            let at = line.map { ":\($0)" } ?? ""
            return "json: \(path)\(at): \(reason)"
        case let .invalidValue(field, value, expected):
            return "\(field): invalid value '\(value)'; expected \(expected)"
        }
    }

    public var errorDescription: String? { description }
}
