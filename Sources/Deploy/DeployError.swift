import Foundation

/// Problems of `tkd export`, `tkd detect` and the ONNX reader: one line naming the file or field, the value
/// seen and what was expected.
public enum DeployError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// Something about the checkpoint makes no deployable model (a tensor, a label map, a setting).
    case checkpoint(path: String, reason: String)
    /// An export option or setting that cannot be used with this checkpoint.
    case export(field: String, reason: String)
    /// The calibration dataset of an int8 export does not fit the checkpoint.
    case calibration(path: String, reason: String)
    /// An ONNX file that cannot be read, or a graph that uses what tkd's runner does not run.
    case model(path: String, reason: String)
    /// A node failed while running (shapes that do not fit, an unsupported attribute value).
    case node(name: String, op: String, reason: String)
    /// An input that cannot be scored (audio, a dataset split).
    case input(path: String, reason: String)

    public var description: String {
        switch self {
        case let .checkpoint(path, reason): return "export: \(path): \(reason)"
        case let .export(field, reason): return "export: '\(field)': \(reason)"
        case let .calibration(path, reason): return "export: calibration dataset \(path): \(reason)"
        case let .model(path, reason): return "onnx: \(path): \(reason)"
        case let .node(name, op, reason): return "onnx: node '\(name)' (\(op)): \(reason)"
        case let .input(path, reason): return "\(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
