import Foundation
import Layers
import Numerics

/// The training loss of the method (Docs/method.md): cross-entropy + λ · KL(a_T ‖ a_S), with
/// a_S = softmax_t(c′_t · q / τ) from the training-only head, and optionally Hinton logit distillation
/// w · T² · KL(softmax(z_T / T) ‖ softmax(z_S / T)) from cached teacher logits. Every term is a batch mean.
public struct Objective: Sendable, Equatable, Codable {
    /// λ of the attention term (0 turns distillation off).
    public var kdLambda: Float = 0
    /// τ of the student's attention head.
    public var kdTemperature: Float = 1
    /// Weight w of the logit term (0 = off).
    public var logitWeight: Float = 0
    /// Temperature T of the logit term.
    public var logitTemperature: Float = 2
    /// Distil the model's own attention α (Att-RNN, MHAtt-RNN; the mean over heads) instead of the
    /// training-only head's a_S (`kd.head: own`); nil or false = the separate head.
    public var ownAttention: Bool?

    public init(
        kdLambda: Float = 0, kdTemperature: Float = 1, logitWeight: Float = 0, logitTemperature: Float = 2,
        ownAttention: Bool? = nil
    ) {
        self.kdLambda = kdLambda
        self.kdTemperature = kdTemperature
        self.logitWeight = logitWeight
        self.logitTemperature = logitTemperature
        self.ownAttention = ownAttention
    }

    /// a_S of `kd.head: own`: the model's attention α [B, heads, T′] averaged over heads, [B, T′].
    public static func meanOverHeads(_ attention: Tensor) -> [Float] {
        let b = attention.batch, heads = attention.shape[1], t = attention.shape[2]
        var mean = [Float](repeating: 0, count: b * t)
        for i in 0..<b {
            for h in 0..<heads { for s in 0..<t { mean[i * t + s] += attention.data[(i * heads + h) * t + s] } }
        }
        for j in mean.indices { mean[j] /= Float(heads) }
        return mean
    }

    public struct Result {
        public var loss: Double
        /// The classification term: softmax cross-entropy, or binary cross-entropy with multi-label targets.
        public var crossEntropy: Double
        public var attentionKD: Double
        public var logitKD: Double
        /// Correct arg-max predictions in the batch.
        public var correct: Int
        public var logitGradient: Tensor
        public var contextGradient: Tensor?
        /// a_S [B, T′] when distilling.
        public var studentAttention: [Float]?
        /// dLoss/dα [B, heads, T′] when distilling the model's own attention.
        public var attentionGradient: Tensor?
    }

    /// Loss and gradients for one batch. `targets` [B, T′] (rows summing to 1), the context c′ and the query
    /// are needed when λ > 0; `teacherLogits` [B, classes] when the logit weight is > 0. Adds dLoss/dq into
    /// `query.gradient`. With `multiLabelTargets` [B, classes] (0/1, or soft), the classification term is the
    /// binary cross-entropy of one sigmoid per class (`BinaryCrossEntropy`) instead of the softmax
    /// cross-entropy of `labels` (then unused), and `correct` counts examples whose top class is a positive.
    public func evaluate(
        logits: Tensor, labels: [Int], context: Tensor?, query: Parameter?, targets: [Float]?,
        teacherLogits: [Float]?, attention: Tensor? = nil, multiLabelTargets: [Float]? = nil
    ) -> Result {
        let b = logits.batch, k = logits.shape[1]
        var ce = 0.0, correct = 0
        var dz = [Float](repeating: 0, count: b * k)
        if let multiLabelTargets {
            precondition(multiLabelTargets.count == b * k, "multi-label targets of \(multiLabelTargets.count) values")
            (ce, dz) = BinaryCrossEntropy.withLogits(logits.data, targets: multiLabelTargets)
            for i in 0..<b {
                var best = 0
                for j in 0..<k where logits.data[i * k + j] > logits.data[i * k + best] { best = j }
                if multiLabelTargets[i * k + best] >= 0.5 { correct += 1 }
            }
        } else {
            var logp = [Float](repeating: 0, count: b * k)
            Softmax.logForward(logits.data, rows: b, width: k, into: &logp)
            for i in 0..<b {
                let y = labels[i]
                ce -= Double(logp[i * k + y])
                var best = 0
                for j in 0..<k {
                    if logits.data[i * k + j] > logits.data[i * k + best] { best = j }
                    dz[i * k + j] = (exp(logp[i * k + j]) - (j == y ? 1 : 0)) / Float(b)
                }
                if best == y { correct += 1 }
            }
            ce /= Double(b)
        }
        var loss = ce
        var logitKD = 0.0
        if logitWeight > 0, let teacher = teacherLogits {
            let temp = logitTemperature
            let zs = logits.data.map { $0 / temp }, zt = teacher.map { $0 / temp }
            var ps = [Float](repeating: 0, count: b * k), pt = [Float](repeating: 0, count: b * k)
            Softmax.forward(zs, rows: b, width: k, into: &ps)
            Softmax.forward(zt, rows: b, width: k, into: &pt)
            for i in 0..<(b * k) where pt[i] > 0 {
                logitKD += Double(pt[i]) * (log(Double(pt[i])) - log(max(Double(ps[i]), 1e-30)))
            }
            logitKD = logitKD * Double(temp * temp) / Double(b)
            loss += Double(logitWeight) * logitKD
            // d/dz_S of w·T²·KL = w·T·(p_S − p_T)/B.
            for i in 0..<(b * k) { dz[i] += logitWeight * temp * (ps[i] - pt[i]) / Float(b) }
        }
        var attentionKD = 0.0
        var dContext: Tensor?
        var studentAttention: [Float]?
        var dAttention: Tensor?
        if kdLambda > 0, ownAttention == true, let targets {
            // a_S = the mean over heads of the model's own α [B, heads, T′]; L = KL(a_T ‖ a_S) over the batch,
            // dL/dα_h = −a_T / (heads · a_S) / B.
            guard let attention else { preconditionFailure("kd.head own needs a model with its own attention") }
            let heads = attention.shape[1], t = attention.shape[2]
            precondition(targets.count == b * t, "targets of \(targets.count) values for α over \(t) steps")
            let mean = Self.meanOverHeads(attention)
            var kl = 0.0
            var da = [Float](repeating: 0, count: attention.data.count)
            for i in 0..<b {
                for s in 0..<t {
                    let p = Double(targets[i * t + s]), a = max(Double(mean[i * t + s]), 1e-30)
                    guard p > 0 else { continue }
                    kl += p * (log(p) - log(a))
                    let g = Float(-p / a / Double(heads) / Double(b)) * kdLambda
                    for h in 0..<heads { da[(i * heads + h) * t + s] = g }
                }
            }
            attentionKD = kl / Double(b)
            loss += Double(kdLambda) * attentionKD
            dAttention = Tensor(shape: attention.shape, data: da)
            studentAttention = mean
        } else if kdLambda > 0, let targets, let context, let query {
            let t = context.shape[1], d = context.shape[2]
            var dc = [Float](repeating: 0, count: context.data.count)
            var dq = [Float](repeating: 0, count: d)
            let r = TemporalAttentionKD.lossAndGradients(
                context: context.data, batch: b, steps: t, width: d, query: query.value,
                temperature: kdTemperature, target: targets,
                contextGradient: &dc, queryGradient: &dq)
            attentionKD = r.loss
            loss += Double(kdLambda) * r.loss
            for i in dc.indices { dc[i] *= kdLambda }
            for i in 0..<d { query.gradient[i] += kdLambda * dq[i] }
            dContext = Tensor(shape: context.shape, data: dc)
            studentAttention = r.studentAttention
        }
        return Result(
            loss: loss, crossEntropy: ce, attentionKD: attentionKD, logitKD: logitKD, correct: correct,
            logitGradient: Tensor(shape: logits.shape, data: dz), contextGradient: dContext,
            studentAttention: studentAttention, attentionGradient: dAttention)
    }
}
