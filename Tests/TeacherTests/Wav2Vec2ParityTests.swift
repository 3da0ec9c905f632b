import DatasetFormat
import Foundation
import Layers
import TensorStore
import TestSupport
import Testing
import TrainingLoop

@testable import Teacher

/// wav2vec 2.0 against Hugging Face transformers (fixtures from `Scripts/reference/wav2vec2.py`): tiny
/// random-weight models of both layouts (base: GroupNorm + post-LN; stable: LayerNorm + pre-LN), saved by
/// `save_pretrained`, plus float16 (legacy weight-norm names) and bfloat16 copies, and both layouts with
/// `use_weighted_layer_sum` (the SUPERB-style head). Logits, attentions,
/// hidden states, features and the pooled head input within 1e-4 absolute; rollouts against numpy.
@Suite("wav2vec 2.0 against transformers")
struct Wav2Vec2ParityTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tolerance: Float = 1e-4

    /// The generator's inputs (0.5 s at 16 kHz): a 440 Hz tone and a 200 → 2000 Hz chirp, each with
    /// hash noise 0.05·(2u − 1), u(k, i) = ((i·2654435761 + k·97531 + 12345) mod 2³²) / 2³².
    static func waveform(_ e: Int) -> [Float] {
        let n = 8000, rate = 16_000.0, duration = Double(n) / rate
        return (0..<n).map { i in
            let t = Double(i) / rate
            let v = (UInt64(i) &* 2_654_435_761 &+ UInt64(3000 + e) &* 97_531 &+ 12_345) % (1 << 32)
            let noise = 0.05 * (2 * Double(v) / 4_294_967_296 - 1)
            let signal =
                e == 0
                ? 0.3 * sin(2 * Double.pi * 440 * t)
                : 0.2 * sin(2 * Double.pi * (200 * t + (2000 - 200) / (2 * duration) * t * t))
            return Float(signal + noise)
        }
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float { Float(Closeness(a, b).error) }

    /// The model folder of a weighted variant (the generator stores only its reference): the base or stable
    /// folder's weights plus `layer_weights`, its config with `use_weighted_layer_sum` true.
    static func weightedFolder(_ name: String, layerWeights: [Float]) throws -> URL {
        let source = fixtures.appendingPathComponent(name == "weighted" ? "base" : "stable")
        let dir = try TestFolder.make("w2v-\(name)")
        var config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json")))
            as! [String: Any]
        config["use_weighted_layer_sum"] = true
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        let file = try SafeTensorsFile(source.appendingPathComponent("model.safetensors"))
        var tensors = try file.entries.keys.sorted().map {
            SafeTensors.Tensor(name: $0, shape: file.entries[$0]!.shape, values: try file.values($0))
        }
        tensors.append(.init(name: "layer_weights", shape: [layerWeights.count], values: layerWeights))
        try SafeTensors.encode(tensors).write(to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    @Test(
        "logits, attentions, hidden states and features",
        arguments: ["base", "stable", "base-legacy-fp16", "stable-bf16", "weighted", "weighted-stable"])
    func parity(name: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name)
        let reference = try SafeTensorsFile(folder.appendingPathComponent("reference.safetensors"))
        let model: Wav2Vec2Model
        if name.hasPrefix("weighted") {
            let assembled = try Self.weightedFolder(name, layerWeights: try reference.values("layer_weights"))
            defer { try? FileManager.default.removeItem(at: assembled) }
            model = try Wav2Vec2Model(folder: assembled)
            #expect(model.config.useWeightedLayerSum)
        } else {
            model = try Wav2Vec2Model(folder: folder)
        }
        for e in 0..<2 {
            let out = try model.forward(Self.waveform(e), keepHiddenStates: true)
            let t = out.frames
            func slice(_ tensor: String) throws -> [Float] {
                let v = try reference.values(tensor), per = v.count / 2
                return Array(v[(e * per)..<((e + 1) * per)])
            }
            #expect(Self.maxDifference(out.features, try slice("features")) <= Self.tolerance, "\(name) features")
            for (i, a) in out.attentions.enumerated() {
                #expect(Self.maxDifference(a, try slice("attention.\(i)")) <= Self.tolerance, "\(name) attention \(i)")
            }
            for (i, h) in out.hiddenStates.enumerated() {
                #expect(Self.maxDifference(h, try slice("hidden.\(i)")) <= Self.tolerance, "\(name) hidden \(i)")
            }
            #expect(Self.maxDifference(out.pooled!, try slice("pooled")) <= Self.tolerance, "\(name) pooled")
            #expect(Self.maxDifference(out.logits!, try slice("logits")) <= Self.tolerance, "\(name) logits")
            print(
                "wav2vec2 \(name) example \(e): T = \(t), logits max diff "
                    + "\(Self.maxDifference(out.logits!, try slice("logits")))"
            )

            for fusion in Rollout.Fusion.allCases {
                for query in [Rollout.Query.first, .mean] {
                    let r = Rollout(fusion: fusion, query: query).vector(
                        out.attentions, heads: model.config.heads, frames: t)
                    #expect(
                        Self.maxDifference(r, try slice("rollout.\(fusion.rawValue).\(query.rawValue)")) <= 1e-5,
                        "\(name) rollout \(fusion) \(query)")
                }
            }
            let discarded = Rollout(fusion: .mean, discard: 0.5, query: .first).vector(
                out.attentions, heads: model.config.heads, frames: t)
            #expect(
                Self.maxDifference(discarded, try slice("rollout.mean.first.discard0.5")) <= 1e-5,
                "\(name) rollout discard")
        }
    }
}
