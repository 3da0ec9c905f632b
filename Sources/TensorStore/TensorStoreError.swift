import Foundation

/// Errors of tensor files (NumPy .npy, safetensors) and sharded stores.
public enum TensorStoreError: Error, Equatable, Sendable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupportedType(path: String, dtype: String, expected: String)
}

extension TensorStoreError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "tensor: \(path): cannot read (\(reason))."
        case let .malformed(path, reason): return "tensor: \(path): malformed file (\(reason))."
        case let .unsupportedType(path, dtype, expected):
            return "tensor: \(path): dtype \(dtype); expected \(expected)."
        }
    }
    public var errorDescription: String? { description }
}
