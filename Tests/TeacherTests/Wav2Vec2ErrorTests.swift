import DatasetFormat
import Foundation
import Layers
import TensorStore
import TestSupport
import Testing
import TrainingLoop

@testable import Teacher

@Suite("wav2vec 2.0 checkpoint errors")
struct Wav2Vec2ErrorTests {
    func copy(_ edit: (inout [String: Any], inout [SafeTensors.Tensor]) -> Void) throws -> URL {
        let source = Wav2Vec2ParityTests.fixtures.appendingPathComponent("base")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tkd-w2v-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json")))
            as! [String: Any]
        let file = try SafeTensorsFile(source.appendingPathComponent("model.safetensors"))
        var tensors = try file.entries.keys.sorted().map {
            SafeTensors.Tensor(name: $0, shape: file.entries[$0]!.shape, values: try file.values($0))
        }
        edit(&config, &tensors)
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        try SafeTensors.encode(tensors).write(to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    func message(_ dir: URL) -> String {
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try Wav2Vec2Model(folder: dir)
            return "no error"
        } catch { return "\(error)" }
    }

    @Test("unsupported configuration, missing tensor and wrong shape are named")
    func errors() throws {
        let norm = message(try copy { c, _ in c["feat_extract_norm"] = "batch" })
        #expect(norm.contains("feat_extract_norm") && norm.contains("batch"), "\(norm)")
        let act = message(try copy { c, _ in c["hidden_act"] = "relu" })
        #expect(act.contains("hidden_act"), "\(act)")
        let missing = message(
            try copy { _, t in t.removeAll { $0.name == "wav2vec2.encoder.layers.1.attention.k_proj.weight" } })
        #expect(
            missing.contains("wav2vec2.encoder.layers.1.attention.k_proj.weight") && missing.contains("missing"),
            "\(missing)")
        let shape = message(
            try copy { _, t in
                if let i = t.firstIndex(where: { $0.name == "classifier.bias" }) {
                    t[i] = .init(name: "classifier.bias", shape: [5], values: [0, 0, 0, 0, 0])
                }
            })
        #expect(shape.contains("classifier.bias") && shape.contains("[5]") && shape.contains("[12]"), "\(shape)")
    }

    @Test("use_weighted_layer_sum without layer_weights is named; a .bin-only folder names the converter")
    func weightedAndPickled() throws {
        let noWeights = message(try copy { c, _ in c["use_weighted_layer_sum"] = true })
        #expect(noWeights.contains("layer_weights") && noWeights.contains("missing"), "\(noWeights)")
        let badWeights = message(
            try copy { c, t in
                c["use_weighted_layer_sum"] = true
                t.append(.init(name: "layer_weights", shape: [3], values: [0, .nan, 1]))
            })
        #expect(badWeights.contains("layer_weights") && badWeights.contains("non-finite"), "\(badWeights)")
        let wrongCount = message(
            try copy { c, t in
                c["use_weighted_layer_sum"] = true
                t.append(.init(name: "layer_weights", shape: [2], values: [0, 1]))
            })
        #expect(wrongCount.contains("layer_weights") && wrongCount.contains("[3]"), "\(wrongCount)")
        let dir = try copy { _, _ in }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        try Data([0x80, 0x02]).write(to: dir.appendingPathComponent("pytorch_model.bin"))
        let pickled = message(dir)
        #expect(
            pickled.contains("pytorch_model.bin") && pickled.contains("Scripts/convert_to_safetensors.py"), "\(pickled)"
        )
    }
}
