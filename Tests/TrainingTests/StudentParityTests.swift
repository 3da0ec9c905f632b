import DatasetFormat
import Foundation
import Layers
import TKDCore
import TensorStore
import TestSupport
import Testing
import TrainingLoop

@testable import Training

/// The five students against PyTorch (fixtures from `Scripts/reference/students.py`): identical weights
/// from an integer hash, one training-mode forward (batch-norm batch statistics, dropout off) and the loss
/// CE + λ·KL(a_T ‖ a_S) with λ = 0.5, τ = 2, then backward. Logits, losses, the student attention,
/// batch-norm moving statistics and every parameter gradient must agree to 1e-4 relative error.
@Suite("Students against PyTorch")
struct StudentParityTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/students")

    /// u(k, i) of the generator: an integer hash, exact in both languages.
    static func u(_ k: Int, _ i: Int) -> Double {
        let v = (UInt64(i) &* 2_654_435_761 &+ UInt64(k) &* 97_531 &+ 12_345) % (1 << 32)
        return Double(v) / 4_294_967_296
    }

    static func fill(_ p: Parameter, k: Int) {
        let leaf = p.name.split(separator: ".").last.map(String.init)!
        let base: Double = leaf == "gamma" ? 1 : 0
        let scale: Double
        if p.name == "kd.query" {
            scale = 0.5
        } else if ["bias", "gamma", "beta", "peepholes"].contains(leaf) || leaf.hasSuffix("bias") {
            scale = 0.1
        } else {
            scale = 1 / Double(p.shape.dropLast().reduce(1, *)).squareRoot()
        }
        p.value = (0..<p.count).map { Float(base + scale * (2 * u(k, $0) - 1)) }
    }

    /// max |a − b| / max(max |b|, floor).
    /// max |a − b| / max(max |b|, floor); an all-zero reference (e.g. samples that all land on a dead ReLU
    /// unit) must be matched exactly.
    static func relativeError(_ a: [Float], _ b: [Float], floor: Float = 0) -> Float {
        Float(Closeness(a, b, relativeTo: floor).error)
    }

    static let tolerance: Float = 1e-4

    @Test("logits, losses, attention, moving statistics and gradients", arguments: Student.allCases, [49, 130])
    func parity(student: Student, frames: Int) throws { try check(student: student, frames: frames, own: false) }

    /// `kd.head: own`: the KL pulls the model's own α (mean over heads) towards the target; τ does not enter.
    @Test("kd.head own: the model's own attention distilled, against PyTorch", arguments: [Student.attRNN, .mhAttRNN])
    func ownHead(student: Student) throws { try check(student: student, frames: 49, own: true) }

    func check(student: Student, frames: Int, own: Bool) throws {
        let file = try SafeTensorsFile(
            Self.fixtures.appendingPathComponent("\(student.rawValue)\(own ? "-own" : "")-T\(frames).safetensors"))
        let labels = try file.values("labels").map { Int($0) }
        let b = labels.count
        // x[b, t, f] = 4·(2u(1000, i) − 1): the generator's input, rebuilt instead of stored.
        let input = (0..<(b * frames * student.featureCount)).map { Float(4 * (2 * Self.u(1000, $0) - 1)) }
        let model = StudentModel(student: student, classes: 12)
        for (k, p) in (model.parameters.filter(\.trainable) + [model.kdQuery]).enumerated() { Self.fill(p, k: k) }
        // Chunks of 2 over a batch of 3, on 2 threads: the parallel path is what is checked.
        let run = RunContext(mode: .training, jobs: 2, chunkSize: 2, seed: 0, step: 1, dropout: false)
        let out = try model.forward(Tensor(shape: [b, frames, student.featureCount], data: input), run)
        #expect(Self.relativeError(out.logits.data, try file.values("logits")) <= Self.tolerance)
        model.zeroGradients()
        let objective = Objective(kdLambda: 0.5, kdTemperature: 2, ownAttention: own ? true : nil)
        let r = objective.evaluate(
            logits: out.logits, labels: labels, context: out.context, query: model.kdQuery,
            targets: try file.values("target"), teacherLogits: nil, attention: out.attention)
        #expect((r.attentionGradient != nil) == own)
        let loss = try file.values("loss")[0], ce = try file.values("ce")[0], kd = try file.values("kd")[0]
        #expect(abs(Float(r.loss) - loss) <= Self.tolerance * loss)
        #expect(abs(Float(r.crossEntropy) - ce) <= Self.tolerance * ce)
        #expect(abs(Float(r.attentionKD) - kd) <= Self.tolerance * kd)
        #expect(Self.relativeError(r.studentAttention!, try file.values("attention")) <= Self.tolerance)
        if let alpha = out.attention {
            #expect(Self.relativeError(alpha.data, try file.values("model_attention")) <= Self.tolerance)
        }
        try model.backward(
            logitGradient: r.logitGradient, contextGradient: r.contextGradient, attentionGradient: r.attentionGradient,
            run)

        for p in model.parameters where !p.trainable {
            #expect(Self.relativeError(p.value, try file.values("state.\(p.name)")) <= Self.tolerance, "\(p.name)")
        }
        var checked = 0, worst: Float = 0
        for p in model.trainableParameters {
            let g = p.gradient
            if file.entries["grad.\(p.name)"] != nil {
                let want = try file.values("grad.\(p.name)")
                let norm = want.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
                if norm < 1e-5 {
                    // A conv bias feeding a training-mode batch norm: its gradient is exactly 0 (the batch
                    // mean absorbs it); both sides hold float32 rounding noise of order 1e-6.
                    #expect(g.map(abs).max()! < 1e-5, "\(p.name) should be zero")
                } else {
                    worst = max(worst, Self.relativeError(g, want))
                    #expect(Self.relativeError(g, want) <= Self.tolerance, "\(p.name): \(Self.relativeError(g, want))")
                }
            } else {
                let sample = try file.values("grad.\(p.name).sample"), norm = try file.values("grad.\(p.name).norm")[0]
                let picked = (0..<sample.count).map { g[$0 * p.count / sample.count] }
                let ours = Float(g.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot())
                worst = max(worst, Self.relativeError(picked, sample), abs(ours - norm) / norm)
                #expect(
                    Self.relativeError(picked, sample) <= Self.tolerance,
                    "\(p.name): \(Self.relativeError(picked, sample))")
                #expect(abs(ours - norm) <= Self.tolerance * norm, "\(p.name) norm \(ours) vs \(norm)")
            }
            checked += 1
        }
        #expect(checked == model.trainableParameters.count)
        print(
            "parity \(student.rawValue)\(own ? " (own head)" : "") T=\(frames): logits "
                + "\(Self.relativeError(out.logits.data, try file.values("logits"))), worst gradient \(worst)"
        )
    }
}
