import Foundation

/// One row of `history.jsonl` (students' runs and the teacher's `training/history.jsonl`, where the
/// attention term is 0 and the loss is the cross-entropy).
public struct HistoryEntry: Sendable, Equatable, Codable {
    public var step: Int
    public var learningRate: Double
    /// Means over the steps since the previous entry.
    public var trainLoss: Double
    public var trainCrossEntropy: Double
    public var trainAttentionKD: Double
    public var trainAccuracy: Double
    public var validationAccuracy: Double
    public var validationLoss: Double
    public var best: Bool
    /// The validation macro mAP of a multi-label run (absent otherwise): what `best` maximises there.
    public var validationMAP: Double?

    /// What `best` maximised: the validation mAP of a multi-label run, else the validation accuracy.
    public var selectionScore: Double { validationMAP ?? validationAccuracy }

    enum CodingKeys: String, CodingKey {
        case step, best
        case learningRate = "learning_rate", trainLoss = "train_loss", trainCrossEntropy = "train_cross_entropy"
        case trainAttentionKD = "train_attention_kd", trainAccuracy = "train_accuracy"
        case validationAccuracy = "validation_accuracy", validationLoss = "validation_loss"
        case validationMAP = "validation_map"
    }

    public init(
        step: Int, learningRate: Double, trainLoss: Double, trainCrossEntropy: Double, trainAttentionKD: Double,
        trainAccuracy: Double, validationAccuracy: Double, validationLoss: Double, best: Bool,
        validationMAP: Double? = nil
    ) {
        self.step = step
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.trainCrossEntropy = trainCrossEntropy
        self.trainAttentionKD = trainAttentionKD
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
        self.validationLoss = validationLoss
        self.best = best
        self.validationMAP = validationMAP
    }
}
