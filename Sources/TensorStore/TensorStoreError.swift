import Foundation

/// Errors of tensor files (NumPy .npy, safetensors) and sharded stores.
public enum TensorStoreError: Error, Equatable, Sendable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupportedType(path: String, dtype: String, expected: String)
    /// A store folder holds a store made with other settings.
    case otherSettings(path: String, found: String, expected: String, folder: String)
}

extension TensorStoreError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "tensor: \(path): cannot read (\(reason))."
        case let .malformed(path, reason): return "tensor: \(path): malformed file (\(reason))."
        case let .unsupportedType(path, dtype, expected): return "tensor: \(path): dtype \(dtype); expected \(expected)."
        case let .otherSettings(path, found, expected, folder):
            return "tensor store: \(path): holds a store made with \(found); expected \(expected). "
                + "Hint: delete \(folder) to rebuild it."
        }
    }
    public var errorDescription: String? { description }
}
