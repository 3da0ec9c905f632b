import DatasetFormat
import Foundation
import Layers
import TKDCore
import TestSupport
import Testing

@testable import TrainingLoop

@Suite("Objective")
struct ObjectiveTests {
    /// CE + λ·KL(a_T ‖ a_S) + w·T²·KL(p_T ‖ p_S): gradients for logits, context and query against central
    /// differences of the loss (Double loss, Float32 inputs: h = 1e-3, tolerance 2e-3 relative to max(1, |g|)).
    @Test("loss gradients (CE, attention KD, logit KD) against finite differences")
    func gradients() {
        let b = 3, k = 5, t = 7, d = 4
        let logits = Tensor(shape: [b, k], data: TestValues.uniform(b * k, seed: 11, scale: 2, key: "training-test"))
        let context = Tensor(shape: [b, t, d], data: TestValues.uniform(b * t * d, seed: 12, key: "training-test"))
        let teacher = TestValues.uniform(b * k, seed: 13, scale: 2, key: "training-test")
        var target = TestValues.uniform(b * t, seed: 14, key: "training-test").map { $0 * $0 + 0.05 }
        for i in 0..<b {
            let s = target[(i * t)..<((i + 1) * t)].reduce(0, +)
            for j in 0..<t { target[i * t + j] /= s }
        }
        let labels = [1, 4, 0]
        let objective = Objective(kdLambda: 0.7, kdTemperature: 1.5, logitWeight: 0.4, logitTemperature: 3)
        let query = Parameter("kd.query", shape: [d])
        query.value = TestValues.uniform(d, seed: 15, key: "training-test")
        let r = objective.evaluate(
            logits: logits, labels: labels, context: context, query: query, targets: target, teacherLogits: teacher)
        #expect(r.logitKD > 0 && r.attentionKD > 0)
        #expect(abs(r.loss - (r.crossEntropy + 0.7 * r.attentionKD + 0.4 * r.logitKD)) < 1e-9)
        let dq = query.gradient
        func loss(_ z: [Float], _ c: [Float], _ q: [Float]) -> Double {
            let p = Parameter("kd.query", shape: [d])
            p.value = q
            return objective.evaluate(
                logits: Tensor(shape: [b, k], data: z), labels: labels, context: Tensor(shape: [b, t, d], data: c),
                query: p, targets: target, teacherLogits: teacher
            ).loss
        }
        let h: Float = 1e-3
        func check(_ name: String, _ values: [Float], _ grad: [Float], _ f: ([Float]) -> Double) {
            for i in values.indices {
                var p = values, m = values
                p[i] += h
                m[i] -= h
                let fd = (f(p) - f(m)) / Double(2 * h)
                #expect(
                    abs(fd - Double(grad[i])) <= 2e-3 * max(1, abs(Double(grad[i]))),
                    "\(name)[\(i)]: \(fd) vs \(grad[i])")
            }
        }
        check("logits", logits.data, r.logitGradient.data) { loss($0, context.data, query.value) }
        check("context", context.data, r.contextGradient!.data) { loss(logits.data, $0, query.value) }
        check("query", query.value, dq) { loss(logits.data, context.data, $0) }
        // λ = 0 and w = 0: plain cross-entropy, no context gradient.
        let plain = Objective().evaluate(
            logits: logits, labels: labels, context: context, query: query, targets: nil, teacherLogits: nil)
        #expect(plain.contextGradient == nil && plain.loss == plain.crossEntropy)
    }
}
