import Foundation
import Layers

/// One optimisation step: forward, loss, backward, optional global-norm clipping, optimiser update.
public enum TrainingStep {
    /// Returns the objective's result; when the loss is not finite nothing is updated.
    public static func run<M: TrainableModel>(
        _ model: M, optimizer: inout OptimizerState, input x: Tensor, labels: [Int],
        targets: [Float]?, teacherLogits: [Float]? = nil, multiLabelTargets: [Float]? = nil, objective: Objective,
        learningRate lr: Double, clipNorm: Float?, run: RunContext
    ) throws -> Objective.Result {
        let out = try model.forward(x, run)
        model.zeroGradients()
        let r = objective.evaluate(
            logits: out.logits, labels: labels, context: out.context, query: model.distillationQuery,
            targets: targets, teacherLogits: teacherLogits, attention: out.attention,
            multiLabelTargets: multiLabelTargets)
        guard r.loss.isFinite else { return r }
        try model.backward(
            logitGradient: r.logitGradient, contextGradient: r.contextGradient,
            attentionGradient: r.attentionGradient, run)
        let params = model.trainableParameters
        if let clip = clipNorm { GradientClipping.clip(params, maxNorm: clip) }
        optimizer.update(params, lr: lr)
        return r
    }
}
