import DatasetFormat
import Foundation
import Layers
import Numerics
import TKDCore
import TensorStore
import TestSupport
import Testing
import Training
import TrainingLoop

@testable import Teacher

/// The bundled teacher against transformers (fixture from `Scripts/reference/bundled_teacher.py`): a
/// checkpoint written by `tkd teacher train` (Swift), loaded by `Wav2Vec2ForSequenceClassification`, which
/// must report no missing or unexpected keys; its logits, attentions and PyTorch-autograd gradients.
@Suite("Bundled teacher: Swift-written checkpoint against transformers")
struct BundledTeacherTests {
    static let folder = Wav2Vec2ParityTests.fixtures.appendingPathComponent("bundled")
    static let labels = [3, 7]

    static func batch() -> Tensor {
        Tensor(shape: [2, 8000], data: Wav2Vec2ParityTests.waveform(0) + Wav2Vec2ParityTests.waveform(1))
    }

    @Test("transformers reproduces the Swift logits and attentions of the Swift-written checkpoint")
    func inferenceParity() throws {
        let reference = try SafeTensorsFile(Self.folder.appendingPathComponent("reference.safetensors"))
        let model = try Wav2Vec2Model(folder: Self.folder)
        let logits = try reference.values("logits")
        var worst: (logits: Float, attentions: Float) = (0, 0)
        defer { print("bundled teacher vs transformers: logits \(worst.logits), attentions \(worst.attentions)") }
        for e in 0..<2 {
            let out = try model.forward(Wav2Vec2ParityTests.waveform(e))
            let d = Wav2Vec2ParityTests.maxDifference(out.logits!, Array(logits[(e * 12)..<((e + 1) * 12)]))
            worst.logits = max(worst.logits, d)
            #expect(d < Wav2Vec2ParityTests.tolerance, "example \(e): logits differ by \(d)")
            for (i, a) in out.attentions.enumerated() {
                let ref = try reference.values("attention.\(i)")
                let n = a.count
                let d = Wav2Vec2ParityTests.maxDifference(a, Array(ref[(e * n)..<((e + 1) * n)]))
                worst.attentions = max(worst.attentions, d)
                #expect(d < Wav2Vec2ParityTests.tolerance, "example \(e) layer \(i): attentions differ by \(d)")
            }
        }
    }

    /// Every parameter's gradient of the mean cross-entropy against PyTorch autograd. Compared relative
    /// to the tensor's largest reference gradient (tiny entries carry only rounding noise).
    @Test("training forward and every parameter gradient against PyTorch autograd, on 1 and 2 threads")
    func gradientParity() throws {
        let reference = try SafeTensorsFile(Self.folder.appendingPathComponent("reference.safetensors"))
        let config = try Wav2Vec2Config(url: Self.folder.appendingPathComponent("config.json"))
        for jobs in [1, 2] {
            let model = TrainableWav2Vec2(config: config)
            try model.load(Self.folder)
            let run = RunContext(mode: .training, jobs: jobs, chunkSize: 1, seed: 1, step: 1)
            let logits = try model.forward(Self.batch(), run).logits
            let d = Wav2Vec2ParityTests.maxDifference(logits.data, try reference.values("logits"))
            #expect(d < Wav2Vec2ParityTests.tolerance, "training-mode logits differ by \(d)")
            let (loss, dLogits) = Self.crossEntropy(logits, labels: Self.labels)
            #expect(abs(loss - Double(try reference.values("loss")[0])) < 1e-5)
            model.zeroGradients()
            try model.backward(logitGradient: dLogits, run)
            let worst = try Self.compareGradients(model.parameters, reference, "bundled teacher")
            // Every PyTorch parameter is one of ours (and the other way round).
            #expect(
                Set(reference.entries.keys.filter { $0.hasPrefix("grad.") })
                    == Set(model.parameters.map { "grad.\($0.name)" }))
            print("bundled teacher gradients, \(jobs) thread(s): worst relative error \(worst.error) in \(worst.name)")
        }
    }

    /// The mean cross-entropy of `logits` [B, classes] against `labels`, and its gradient.
    static func crossEntropy(_ logits: Tensor, labels: [Int]) -> (loss: Double, gradient: Tensor) {
        let b = logits.batch, k = logits.shape[1]
        var p = [Float](repeating: 0, count: logits.data.count)
        Softmax.forward(logits.data, rows: b, width: k, into: &p)
        var loss = 0.0
        for (i, y) in labels.enumerated() {
            loss -= log(Double(p[i * k + y]))
            p[i * k + y] -= 1
        }
        return (loss / Double(b), Tensor(shape: logits.shape, data: p.map { $0 / Float(b) }))
    }

    /// Each parameter's gradient against `grad.<name>` of a PyTorch reference, relative to the tensor's largest
    /// reference gradient floored at 1e-6 (a gradient that is exactly zero in exact arithmetic, such as the key
    /// projection's bias — softmax ignores a shift shared by a row —, holds rounding noise of about 1e-9 on
    /// both sides). Returns the worst.
    static func compareGradients(
        _ parameters: [Parameter], _ reference: SafeTensorsFile, _ what: String
    ) throws -> (name: String, error: Double) {
        var worst = (name: "", error: 0.0)
        for param in parameters {
            let ref = try reference.values("grad.\(param.name)")
            let scale = Double(ref.map { abs($0) }.max() ?? 0)
            let err = zip(param.gradient, ref).map { Double(abs($0 - $1)) }.max() ?? 0
            let relative = err / max(scale, 1e-6)
            if relative > worst.error { worst = (param.name, relative) }
            #expect(relative < 1e-3, "\(what) \(param.name): gradient differs by \(err) (largest reference \(scale))")
        }
        return worst
    }

    @Test("save → Wav2Vec2Model reproduces the trainable model's inference logits; the first-frame head too")
    func saveAndReload() throws {
        for pooling in [Wav2Vec2Config.Pooling.mean, .first] {
            let config = Wav2Vec2Config(
                hiddenSize: 8, layers: 1, heads: 2, intermediateSize: 16, convDim: [4, 4], convKernel: [10, 3],
                convStride: [5, 2], positionalKernel: 4, positionalGroups: 2, classifierProjectionSize: 4,
                labels: ["a", "b", "c"], pooling: pooling)
            let model = TrainableWav2Vec2(config: config, seed: 11)
            let dir = TestFolder.path("bundled")
            defer { try? FileManager.default.removeItem(at: dir) }
            try model.save(to: dir)
            let loaded = try Wav2Vec2Model(folder: dir)
            #expect(loaded.config.pooling == pooling)
            #expect(loaded.config.id2label == [0: "a", 1: "b", 2: "c"])
            let x = Array(Wav2Vec2ParityTests.waveform(1).prefix(2000))
            let mine = try model.forward(Tensor(shape: [1, 2000], data: x), RunContext(mode: .inference)).logits
            let out = try loaded.forward(x)
            #expect(Wav2Vec2ParityTests.maxDifference(mine.data, out.logits!) < 1e-5)
            for (a, b) in zip(model.attentions, out.attentions) {
                #expect(Wav2Vec2ParityTests.maxDifference(a, b) < 1e-5)
            }
        }
    }
}
