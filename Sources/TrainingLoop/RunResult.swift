import Foundation

/// `metrics.json` of a finished run (contract): the best model's validation and test metrics
/// (`RunResultCommon`) and the task's own keys, side by side in one JSON object (`result.test`,
/// `result.student`).
public typealias RunResult<Details: Codable & Equatable & Sendable> = SideBySide<RunResultCommon, Details>

/// The keys of every run's `metrics.json`.
public struct RunResultCommon: Codable, Equatable, Sendable {
    /// The step of the best-by-validation weights.
    public var bestStep: Int
    /// The run's steps.
    public var steps: Int
    public var validation: Metrics
    public var test: Metrics

    enum CodingKeys: String, CodingKey {
        case steps, validation, test
        case bestStep = "best_step"
    }
}

extension SideBySide where Common == RunResultCommon {
    public init(bestStep: Int, steps: Int, validation: Metrics, test: Metrics, details: Details) {
        self.init(
            common: RunResultCommon(bestStep: bestStep, steps: steps, validation: validation, test: test),
            details: details)
    }
}

/// Details for a run whose metrics need no keys of their own (the bundled teacher's).
public struct NoDetails: Codable, Equatable, Sendable {
    public init() {}
    public init(from decoder: Decoder) throws {}
    public func encode(to encoder: Encoder) throws {}
}
