import Foundation
import Testing
import TensorStore
@testable import Teacher

/// wav2vec 2.0 against Hugging Face transformers (fixtures from `Scripts/reference/wav2vec2.py`): tiny
/// random-weight models of both layouts (base: GroupNorm + post-LN; stable: LayerNorm + pre-LN), saved by
/// `save_pretrained`, plus float16 (legacy weight-norm names) and bfloat16 copies. Logits, attentions,
/// hidden states, features and the pooled head input within 1e-4 absolute; rollouts against numpy.
@Suite("wav2vec 2.0 against transformers")
struct Wav2Vec2ParityTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tolerance: Float = 1e-4

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "sizes \(a.count) and \(b.count)")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test("logits, attentions, hidden states and features", arguments: ["base", "stable", "base-legacy-fp16", "stable-bf16"])
    func parity(name: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name)
        let model = try Wav2Vec2Model(folder: folder)
        let reference = try SafeTensorsFile(folder.appendingPathComponent("reference.safetensors"))
        let input = try reference.values("input")
        let n = reference.entries["input"]!.shape[1]
        for e in 0..<2 {
            let out = try model.forward(Array(input[(e * n)..<((e + 1) * n)]), keepHiddenStates: true)
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
            print("wav2vec2 \(name) example \(e): T = \(t), logits max diff \(Self.maxDifference(out.logits!, try slice("logits")))")

            for fusion in Rollout.Fusion.allCases {
                for query in [Rollout.Query.first, .mean] {
                    let r = Rollout(fusion: fusion, query: query).vector(out.attentions, heads: model.config.heads, frames: t)
                    #expect(Self.maxDifference(r, try slice("rollout.\(fusion.rawValue).\(query.rawValue)")) <= 1e-5,
                            "\(name) rollout \(fusion) \(query)")
                }
            }
            let discarded = Rollout(fusion: .mean, discard: 0.5, query: .first).vector(out.attentions, heads: model.config.heads, frames: t)
            #expect(Self.maxDifference(discarded, try slice("rollout.mean.first.discard0.5")) <= 1e-5, "\(name) rollout discard")
        }
    }
}
