import Foundation

/// `metrics.json` of a finished run (contract): the best model's validation and test metrics (`Common`,
/// defined here once) and the task's own keys (`details`), side by side in one JSON object. Both read as the
/// result's own fields (`result.test`, `result.student`).
@dynamicMemberLookup
public struct RunResult<Details: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    public struct Common: Codable, Equatable, Sendable {
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

    public var common: Common
    public var details: Details

    public init(bestStep: Int, steps: Int, validation: Metrics, test: Metrics, details: Details) {
        common = Common(bestStep: bestStep, steps: steps, validation: validation, test: test)
        self.details = details
    }

    public subscript<T>(dynamicMember path: KeyPath<Common, T>) -> T { common[keyPath: path] }
    public subscript<T>(dynamicMember path: KeyPath<Details, T>) -> T { details[keyPath: path] }

    public init(from decoder: Decoder) throws {
        common = try Common(from: decoder)
        details = try Details(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        try common.encode(to: encoder)
        try details.encode(to: encoder)
    }
}

/// Details for a run whose metrics need no keys of their own (the bundled teacher's).
public struct NoDetails: Codable, Equatable, Sendable {
    public init() {}
    public init(from decoder: Decoder) throws {}
    public func encode(to encoder: Encoder) throws {}
}
