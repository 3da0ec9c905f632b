import Foundation

/// Problems with a teacher checkpoint or cache: one line naming the file, the value and what was expected.
public enum TeacherError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case config(path: String, field: String, value: String, expected: String)
    case missingTensor(path: String, name: String)
    case shape(path: String, name: String, shape: [Int], expected: [Int])
    case input(path: String, reason: String)

    public var description: String {
        switch self {
        case let .config(path, field, value, expected):
            return "\(path): '\(field)' is \(value); expected \(expected)"
        case let .missingTensor(path, name):
            return "\(path): tensor '\(name)' is missing"
        case let .shape(path, name, shape, expected):
            return "\(path): tensor '\(name)' has shape \(shape), expected \(expected)"
        case let .input(path, reason):
            return "\(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
