import Foundation
import Numerics

/// The hyper-parameters the loop itself uses.
public struct LoopSettings: Sendable {
    public var steps: Int
    /// Validation every N steps (and at the last); the best-by-validation model is kept (ties go to the later step).
    public var evalEvery: Int
    public var batchSize: Int
    /// Examples per parallel chunk; fixes the floating-point summation order (not `--jobs`).
    public var chunk: Int
    public var seed: UInt64
    public var schedule: LearningRateSchedule
    /// Global gradient-norm clipping (nil = off).
    public var clipNorm: Float?
    public var objective: Objective
    public var optimizer: OptimizerConfig

    public init(
        steps: Int, evalEvery: Int, batchSize: Int, chunk: Int, seed: UInt64, schedule: LearningRateSchedule,
        clipNorm: Float?, objective: Objective, optimizer: OptimizerConfig
    ) {
        self.steps = steps
        self.evalEvery = evalEvery
        self.batchSize = batchSize
        self.chunk = chunk
        self.seed = seed
        self.schedule = schedule
        self.clipNorm = clipNorm
        self.objective = objective
        self.optimizer = optimizer
    }
}
