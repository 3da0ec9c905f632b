import Foundation

/// Problems reading the files a dataset folder is made of: one line naming the file, what was wrong and
/// what was expected.
public enum DatasetFormatError: Error, Equatable, Sendable {
    /// A file the dataset needs is not there.
    case missing(path: String, expected: String)
    /// A file is there but does not decode.
    case unreadable(path: String, reason: String)
    /// A teacher-cache reference does not name exactly one cache.
    case teacherCache(path: String, reason: String)
    /// A manifest record that cannot be used.
    case invalidRecord(path: String, id: String, field: String, detail: String)
    /// A field of a description file (`dataset.json`, a store's or cache's JSON) that cannot be used.
    case invalidField(path: String, field: String, detail: String)
    /// A description file whose values cannot be used together (`reason` names the field, the value and what
    /// was expected).
    case invalidFile(path: String, reason: String)
}

extension DatasetFormatError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .missing(path, expected):
            return "\(path) not found; expected \(expected)."
        case let .unreadable(path, reason):
            return "\(path): unreadable (\(reason))."
        case let .teacherCache(path, reason):
            return "\(path): \(reason)"
        case let .invalidRecord(path, id, field, detail):
            return "\(path): example '\(id)': '\(field)' \(detail)."
        case let .invalidField(path, field, detail):
            return "\(path): '\(field)' \(detail)."
        case let .invalidFile(path, reason):
            return "\(path): \(reason)."
        }
    }

    public var errorDescription: String? { description }

    /// The file or folder the error is about.
    public var path: String {
        switch self {
        case let .missing(path, _), let .unreadable(path, _), let .teacherCache(path, _),
            let .invalidRecord(path, _, _, _), let .invalidField(path, _, _), let .invalidFile(path, _):
            return path
        }
    }

    /// What was wrong, without the path.
    public var reason: String {
        switch self {
        case let .missing(_, expected): return "not found; expected \(expected)"
        case let .unreadable(_, reason): return "unreadable (\(reason))"
        case let .teacherCache(_, reason): return reason
        case let .invalidRecord(_, id, field, detail): return "example '\(id)': '\(field)' \(detail)"
        case let .invalidField(_, field, detail): return "'\(field)' \(detail)"
        case let .invalidFile(_, reason): return reason
        }
    }
}
