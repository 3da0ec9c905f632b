import Foundation

/// Errors in a YAML configuration (recipes, training configs). Every message names the file, the
/// line and the key path.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    public let file: String
    public let line: Int?
    /// Dotted key path, e.g. `noise.regions.training`.
    public let key: String
    public let message: String

    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        let at = line.map { ":\($0)" } ?? ""
        return "\(file)\(at): \(key.isEmpty ? "" : "'\(key)': ")\(message)"
    }

    public var errorDescription: String? { description }
}
