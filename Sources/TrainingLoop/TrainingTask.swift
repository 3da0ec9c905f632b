import DatasetFormat
import Foundation
import Layers
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

/// One minibatch of a training step.
public struct TrainingBatch {
    public var input: Tensor
    public var labels: [Int]
    /// a_T [B, T′] (rows summing to 1), when distilling attention.
    public var targets: [Float]?
    /// Teacher logits [B, classes] in the dataset's class order, for the logit term.
    public var teacherLogits: [Float]?

    public init(input: Tensor, labels: [Int], targets: [Float]? = nil, teacherLogits: [Float]? = nil) {
        self.input = input
        self.labels = labels
        self.targets = targets
        self.teacherLogits = teacherLogits
    }
}

/// What the loop needs from a kind of run (a student's, the bundled teacher's): its model, its data and
/// augmentation, and where its best model and state go. Everything else — resume, `--stop-after`, history,
/// the best checkpoint, evaluation, progress — is `TrainingSession`'s.
public protocol TrainingTask: AnyObject {
    associatedtype Model: TrainableModel
    associatedtype StateInfo: TrainingStateInfo

    /// How the run is named in progress lines and messages.
    var displayName: String { get }
    var settings: LoopSettings { get }
    /// The folder of `config.json` and `history.jsonl`.
    var folder: URL { get }
    /// The resumable training state (latest weights and optimiser state).
    var stateURL: URL { get }
    /// The dataset's manifest fingerprint; a state made on other manifests is refused.
    var manifestsSHA256: String { get }
    /// Class names in label-index order.
    var labels: [String] { get }

    /// The canonical JSON of the run's config, written as `folder/config.json`; a folder holding another is refused.
    func configData() throws -> Data
    /// Example ids of a split, in manifest order.
    func ids(_ split: Split) -> [String]
    /// A freshly initialised model.
    func makeModel() -> Model
    /// The augmented minibatch of `ids` for step `step` (1-based), with its distillation targets.
    func trainingBatch(_ ids: [String], step: Int) throws -> TrainingBatch
    /// Inference inputs of `ids` (no augmentation) and their labels.
    func evaluationInput(_ ids: [String]) throws -> (input: Tensor, labels: [Int])
    /// The description written into a state or checkpoint at `step`.
    func stateInfo(step: Int, validationAccuracy: Double?, optimizer: String?, pendingSums: [Double]?) -> StateInfo
    /// Checks a state found in the folder before resuming from it (its manifests are checked by the loop).
    func checkResumable(_ info: StateInfo, path: URL) throws
    /// Keeps `model` as the best so far.
    func saveBest(_ model: Model, step: Int, validationAccuracy: Double) throws
    /// The best model saved, and its step when the saved form records it.
    func loadBest() throws -> (model: Model, step: Int?)
}
