import Foundation
import TrainingLoop

/// `metrics.json` of a finished student run: the best-by-validation checkpoint's validation and test metrics
/// (`best_step`, `steps`, `validation`, `test`) and which student and distillation made it.
public typealias RunMetrics = RunResult<StudentRun>

/// A student run's own keys in `metrics.json`.
public struct StudentRun: Codable, Equatable, Sendable {
    public var student: Student
    public var kdLambda: Float
    public var kdTarget: KDTarget

    enum CodingKeys: String, CodingKey {
        case student
        case kdLambda = "kd_lambda", kdTarget = "kd_target"
    }
}
