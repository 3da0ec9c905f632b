import Foundation
import TrainingLoop

/// `metrics.json` of a finished run: the best-by-validation checkpoint's validation and test metrics.
public struct RunMetrics: Sendable, Equatable, Codable {
    public var student: Student
    public var kdLambda: Float
    public var kdTarget: KDTarget
    public var bestStep: Int
    public var steps: Int
    public var validation: Metrics
    public var test: Metrics

    enum CodingKeys: String, CodingKey {
        case student, steps, validation, test
        case kdLambda = "kd_lambda", kdTarget = "kd_target", bestStep = "best_step"
    }
}
