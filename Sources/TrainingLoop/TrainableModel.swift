import Foundation
import Layers

/// What a model's forward pass gives the loop.
public struct ModelOutput {
    /// [B, classes].
    public var logits: Tensor
    /// The context representation c′ [B, T′, d] that attention distillation reads, when the model has one.
    public var context: Tensor?
    /// The model's own attention α [B, heads, T′] (Att-RNN, MHAtt-RNN), when it has one.
    public var attention: Tensor?

    public init(logits: Tensor, context: Tensor? = nil, attention: Tensor? = nil) {
        self.logits = logits
        self.context = context
        self.attention = attention
    }
}

/// A model the training loop can train: the students and the bundled teacher.
public protocol TrainableModel: AnyObject {
    /// Every tensor of a training state, in order (weights, statistics, training-only heads).
    var stateParameters: [Parameter] { get }
    /// The tensors the optimiser updates, in order.
    var trainableParameters: [Parameter] { get }
    /// The training-only attention-distillation query q [d], when the model has that head.
    var distillationQuery: Parameter? { get }
    /// Logits (and, for distillation, c′) of a batch. Training mode keeps what `backward` needs.
    func forward(_ x: Tensor, _ run: RunContext) throws -> ModelOutput
    /// Adds dLoss/dParameter into the gradients, given dLoss/dLogits and (when distilling) dLoss/dc′ or, when
    /// distilling the model's own attention, dLoss/dα [B, heads, T′].
    func backward(logitGradient: Tensor, contextGradient: Tensor?, attentionGradient: Tensor?, _ run: RunContext) throws
}

extension TrainableModel {
    public func zeroGradients() { for p in trainableParameters { p.zeroGradient() } }
}
