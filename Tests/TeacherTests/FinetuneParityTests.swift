import DatasetFormat
import Foundation
import Layers
import Numerics
import TensorStore
import TestSupport
import Testing
import TrainingLoop

@testable import Teacher

/// Fine-tuning a pretrained wav2vec 2.0 against transformers (fixtures from `Scripts/reference/finetune.py`):
/// the base/ and stable/ folders as "pretrained" checkpoints, every encoder weight loaded, a fresh head (its
/// start copied from transformers'), the feature encoder frozen; logits and every trainable gradient.
@Suite("wav2vec 2.0 fine-tuning against transformers")
struct FinetuneParityTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String, source: String
        let pooling: Wav2Vec2Config.Pooling
        let weighted: Bool
        let frozenLayers: Int
        var description: String { name }
    }

    static let cases = [
        Case(name: "base-first", source: "base", pooling: .first, weighted: false, frozenLayers: 0),
        Case(name: "stable-weighted", source: "stable", pooling: .mean, weighted: true, frozenLayers: 1),
    ]

    @Test("logits and every trainable gradient, on 1 and 2 threads", arguments: cases)
    func parity(_ c: Case) throws {
        let folder = Wav2Vec2ParityTests.fixtures.appendingPathComponent(c.source)
        let reference = try SafeTensorsFile(
            Wav2Vec2ParityTests.fixtures.appendingPathComponent("finetune-\(c.name).safetensors"))
        var config = try Wav2Vec2Config(url: folder.appendingPathComponent("config.json"))
        config.classifierProjectionSize = 8
        config.pooling = c.pooling
        config.useWeightedLayerSum = c.weighted
        for jobs in [1, 2] {
            let model = TrainableWav2Vec2(config: config, seed: 3)
            try model.loadEncoder(folder)
            model.freezeFeatureEncoder = true
            model.frozenLayers = c.frozenLayers
            for p in model.parameters where reference.entries["head.\(p.name)"] != nil {
                p.value = try reference.values("head.\(p.name)")
            }
            let run = RunContext(mode: .training, jobs: jobs, chunkSize: 1, seed: 1, step: 1)
            let logits = try model.forward(BundledTeacherTests.batch(), run).logits
            let d = Wav2Vec2ParityTests.maxDifference(logits.data, try reference.values("logits"))
            #expect(d < Wav2Vec2ParityTests.tolerance, "\(c.name): logits differ by \(d)")
            let (loss, dLogits) = BundledTeacherTests.crossEntropy(logits, labels: BundledTeacherTests.labels)
            #expect(abs(loss - Double(try reference.values("loss")[0])) < 1e-5, "\(c.name): loss")
            model.zeroGradients()
            try model.backward(logitGradient: dLogits, run)
            let worst = try BundledTeacherTests.compareGradients(model.trainableParameters, reference, c.name)
            // The trainable set is transformers' requires_grad set, no more, no less.
            #expect(
                Set(reference.entries.keys.filter { $0.hasPrefix("grad.") })
                    == Set(model.trainableParameters.map { "grad.\($0.name)" }))
            print(
                "fine-tuning \(c.name), \(jobs) thread(s): logits \(d), worst gradient \(worst.error) in \(worst.name)")
        }
    }

    @Test("a checkpoint without the wav2vec2. prefix and with legacy weight-norm names loads the same encoder")
    func prefixesAndNames() throws {
        let source = Wav2Vec2ParityTests.fixtures.appendingPathComponent("base")
        let legacy = Wav2Vec2ParityTests.fixtures.appendingPathComponent("base-legacy-fp16")
        let config = try Wav2Vec2Config(url: source.appendingPathComponent("config.json"))
        let reference = TrainableWav2Vec2(config: config)
        try reference.loadEncoder(legacy)
        // The float16 weights with the bare Wav2Vec2Model names (no prefix, no head) and a plain positional weight.
        let dir = try TestFolder.make("w2v-bare")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try SafeTensorsFile(legacy.appendingPathComponent("model.safetensors"))
        var tensors: [SafeTensors.Tensor] = []
        let pos = "wav2vec2.encoder.pos_conv_embed.conv."
        let g = try file.values(pos + "weight_g"), v = try file.values(pos + "weight_v")
        let k = g.count
        var norms = [Double](repeating: 0, count: k)
        for i in v.indices { norms[i % k] += Double(v[i]) * Double(v[i]) }
        for name in file.entries.keys.sorted() where name.hasPrefix("wav2vec2.") && !name.hasPrefix(pos + "weight_") {
            tensors.append(
                .init(name: String(name.dropFirst(9)), shape: file.entries[name]!.shape, values: try file.values(name)))
        }
        let w = v.indices.map { Float(Double(g[$0 % k]) * Double(v[$0]) / norms[$0 % k].squareRoot()) }
        tensors.append(
            .init(name: "encoder.pos_conv_embed.conv.weight", shape: file.entries[pos + "weight_v"]!.shape, values: w))
        try SafeTensors.encode(tensors).write(to: dir.appendingPathComponent("model.safetensors"))
        let bare = TrainableWav2Vec2(config: config)
        try bare.loadEncoder(dir)
        let run = RunContext(mode: .inference)
        for e in 0..<2 {
            let x = Tensor(shape: [1, 8000], data: Wav2Vec2ParityTests.waveform(e))
            let a = try reference.forward(x, run).logits.data, b = try bare.forward(x, run).logits.data
            #expect(Wav2Vec2ParityTests.maxDifference(a, b) < 1e-5, "example \(e)")
        }
        // A missing encoder tensor is named.
        tensors.removeAll { $0.name == "encoder.layers.1.attention.q_proj.weight" }
        try SafeTensors.encode(tensors).write(to: dir.appendingPathComponent("model.safetensors"))
        #expect(
            throws: TeacherError.missingTensor(
                path: dir.appendingPathComponent("model.safetensors").path,
                name: "encoder.layers.1.attention.q_proj.weight")
        ) {
            try TrainableWav2Vec2(config: config).loadEncoder(dir)
        }
    }
}
