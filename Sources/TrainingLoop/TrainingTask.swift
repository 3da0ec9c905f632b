import DatasetFormat
import Foundation
import Layers

/// What the loop needs from a kind of run (a student's, the bundled teacher's): its model, its data and
/// augmentation, and where its best model and state go. Everything else — resume, `--stop-after`, history,
/// the best checkpoint, evaluation, progress — is `TrainingSession`'s.
public protocol TrainingTask: AnyObject {
    associatedtype Model: TrainableModel
    associatedtype StateDetails: TrainingStateDetails
    associatedtype ResultDetails: Codable & Equatable & Sendable

    /// How the run is named in progress lines and messages.
    var displayName: String { get }
    var settings: LoopSettings { get }
    /// The run folder: `config.json`, `history.jsonl`, `metrics.json` and the resumable state.
    var runFolder: RunLayout { get }
    /// The resumable training state (latest weights and optimiser state) in `runFolder`.
    var stateURL: URL { get }
    /// The run's config; a state made with another is refused.
    var config: StateDetails.Config { get }
    /// The dataset's manifest fingerprint; a state made on other manifests is refused.
    var manifestsSHA256: String { get }
    /// Class names in label-index order.
    var labels: [String] { get }

    /// The canonical JSON of the run's config, written as `folder/config.json`; a folder holding another is refused.
    func configData() throws -> Data
    /// Example ids of a split, sorted by id (the order canonical manifests are written in).
    func ids(_ split: Split) -> [String]
    /// A freshly initialised model.
    func makeModel() throws -> Model
    /// The augmented minibatch of `ids` for step `step` (1-based), with its distillation targets.
    func trainingBatch(_ ids: [String], step: Int) throws -> TrainingBatch
    /// Inference inputs of `ids` (no augmentation) and their labels.
    func evaluationInput(_ ids: [String]) throws -> (input: Tensor, labels: [Int])
    /// The description written into a state or checkpoint at `step`.
    func stateInfo(
        step: Int, validationAccuracy: Double?, optimizer: String?, pendingSums: [Double]?
    )
        -> TrainingStateDescription<StateDetails>
    /// The task's own keys in `metrics.json`.
    func resultDetails() -> ResultDetails
    /// A multi-label dataset's label sets and clips (nil: single-label, softmax and accuracy). When set, the loop
    /// trains with sigmoid + binary cross-entropy, scores clips by mAP (`MultiLabelTask.metrics`) and keeps the
    /// best model by validation mAP.
    var multiLabel: MultiLabelTask? { get }
    /// How minibatches are drawn.
    var sampling: Sampling { get }
    /// An example's label indices (one in a single-label dataset), for class-balanced sampling.
    func labelSet(_ id: String) -> [Int]
    /// Keeps `model` as the best so far.
    func saveBest(_ model: Model, step: Int, validationAccuracy: Double) throws
    /// The best model saved, and its step when the saved form records it.
    func loadBest() throws -> (model: Model, step: Int?)
}
