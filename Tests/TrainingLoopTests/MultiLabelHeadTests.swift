import Foundation
import Layers
import TestSupport
import Testing

@testable import TrainingLoop

/// Issue 16, point 3: the multi-label head — a dense layer to one logit per class, sigmoid + binary
/// cross-entropy — against PyTorch (`Scripts/reference/multilabel_head.py`): the loss and every gradient,
/// and the loss at logits where a naive log-sigmoid overflows.
@Suite("Multi-label head against PyTorch")
struct MultiLabelHeadTests {
    struct Head: Decodable {
        var h, w, b, targets: [Double]
        var loss: Double
        var grad_w, grad_b, grad_h: [Double]
    }
    struct Extreme: Decodable {
        var logits, targets: [Double]
        var loss: Double
        var grad: [Double]
    }
    struct File: Decodable {
        var head: Head
        var extreme: Extreme
    }

    static func fixture() throws -> File {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/multilabel-head.json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }

    static func floats(_ x: [Double]) -> [Float] { x.map(Float.init) }

    @Test("dense layer + BCE through Objective: loss and the gradients of W, b and the features")
    func head() throws {
        let f = try Self.fixture().head
        let dense = DenseLayer(name: "head", inputs: 6, units: 7, activation: .linear)
        dense.kernel.value = Self.floats(f.w)
        dense.bias.value = Self.floats(f.b)
        let context = RunContext(mode: .training)
        let z = try dense.forward(Tensor(shape: [5, 6], data: Self.floats(f.h)), context)
        let r = Objective().evaluate(
            logits: z, labels: [], context: nil, query: nil, targets: nil, teacherLogits: nil,
            multiLabelTargets: Self.floats(f.targets))
        // float32 forward and backward against float64: relative to the largest value, 1e-5.
        #expect(abs(r.loss - f.loss) < 1e-6 * max(1, abs(f.loss)), "loss \(r.loss) vs \(f.loss)")
        #expect(r.crossEntropy == r.loss && r.attentionKD == 0)
        let dh = try dense.backward(r.logitGradient, context)
        expectClose(dense.kernel.gradient, Self.floats(f.grad_w), tolerance: 1e-5, relativeTo: 1e-6, "dW")
        expectClose(dense.bias.gradient, Self.floats(f.grad_b), tolerance: 1e-5, relativeTo: 1e-6, "db")
        expectClose(dh.data, Self.floats(f.grad_h), tolerance: 1e-5, relativeTo: 1e-6, "dh")
    }

    @Test("logits from −90 to +90 with hard and soft targets: finite loss and gradient equal to PyTorch's")
    func extreme() throws {
        let f = try Self.fixture().extreme
        let (loss, grad) = BinaryCrossEntropy.withLogits(Self.floats(f.logits), targets: Self.floats(f.targets))
        #expect(loss.isFinite && abs(loss - f.loss) < 1e-6 * abs(f.loss), "loss \(loss) vs \(f.loss)")
        expectClose(grad, Self.floats(f.grad), tolerance: 1e-6, relativeTo: 1e-6, "dz")
    }

    @Test("by hand: z = 0 gives log 2 and gradient (½ − y)/n; the top class decides `correct`")
    func byHand() {
        let (loss, grad) = BinaryCrossEntropy.withLogits([0, 0], targets: [1, 0])
        #expect(abs(loss - log(2)) < 1e-12)
        #expect(grad == [-0.25, 0.25])
        let r = Objective().evaluate(
            logits: Tensor(shape: [2, 3], data: [3, 1, 0, 0, 2, 1]), labels: [], context: nil, query: nil,
            targets: nil, teacherLogits: nil, multiLabelTargets: [1, 0, 1, 1, 0, 0])
        // Example 0's top class (0) is positive; example 1's (1) is not.
        #expect(r.correct == 1)
    }
}
