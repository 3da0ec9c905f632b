import Foundation
import Layers

/// One minibatch of a training step.
public struct TrainingBatch {
    public var input: Tensor
    public var labels: [Int]
    /// a_T [B, T′] (rows summing to 1), when distilling attention.
    public var targets: [Float]?
    /// Teacher logits [B, classes] in the dataset's class order, for the logit term.
    public var teacherLogits: [Float]?
    /// [B, classes] 0/1 label sets of a multi-label task (sigmoid + binary cross-entropy instead of softmax).
    public var multiLabelTargets: [Float]?

    public init(
        input: Tensor, labels: [Int], targets: [Float]? = nil, teacherLogits: [Float]? = nil,
        multiLabelTargets: [Float]? = nil
    ) {
        self.input = input
        self.labels = labels
        self.targets = targets
        self.teacherLogits = teacherLogits
        self.multiLabelTargets = multiLabelTargets
    }
}
