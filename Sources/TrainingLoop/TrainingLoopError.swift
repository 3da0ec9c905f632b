import Foundation

/// Problems of a training run: one line naming the file, the value seen and what was expected.
public enum TrainingLoopError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// A checkpoint or training state that cannot be used.
    case checkpoint(path: String, reason: String)
    /// The run folder holds a run made with another config or dataset.
    case runMismatch(path: String, field: String, run: String, requested: String)
    /// The loss stopped being finite.
    case diverged(path: String, step: Int, loss: Double)

    public var description: String {
        switch self {
        case let .checkpoint(path, reason):
            return "\(path): \(reason)"
        case let .runMismatch(path, field, run, requested):
            return "\(path): the run folder holds a run with \(field) = \(run), this command asks for \(requested); "
                + "choose another run folder or remove this one"
        case let .diverged(path, step, loss):
            return "\(path): the loss became \(loss) at step \(step); lower the learning rate or enable clip_norm"
        }
    }

    public var errorDescription: String? { description }
}
