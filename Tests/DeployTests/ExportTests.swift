import DatasetFormat
import Foundation
import TKDCore
import TensorStore
import TestSupport
import Testing
import Training

@testable import Deploy

/// `Exporter` and `ExportedModel` on good and bad checkpoints, folders and manifests.
@Suite("Export: checkpoints, folders and deploy.json")
struct ExportTests {
    /// A checkpoint file with `change` applied to its tensors and description.
    static func tampered(
        _ source: URL, to url: URL, tensors change: (inout [SafeTensors.Tensor]) -> Void = { _ in },
        description: (inout [String: Any]) -> Void = { _ in }
    ) throws {
        let file = try SafeTensorsFile(source)
        var tensors = try file.entries.keys.sorted().map {
            SafeTensors.Tensor(name: $0, shape: file.entries[$0]!.shape, values: try file.values($0))
        }
        change(&tensors)
        var json = try JSONSerialization.jsonObject(with: Data(file.metadata["tkd_checkpoint"]!.utf8)) as! [String: Any]
        description(&json)
        var metadata = file.metadata
        metadata["tkd_checkpoint"] = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        try SafeTensors.encode(tensors, metadata: metadata).write(to: url)
    }

    static func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch { return "\(error)" }
    }

    @Test("bad checkpoints: missing, misshapen or non-finite tensors, unknown students and presets, old descriptions")
    func badCheckpoints() throws {
        let dir = try TestFolder.make("export-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try DeployFixtures.checkpoint(.attRNN, in: dir)
        let out = dir.appendingPathComponent("out")
        let bad = dir.appendingPathComponent("bad.safetensors")
        func export(_ options: ExportOptions = ExportOptions()) -> String {
            let m = Self.message { _ = try Exporter.export(checkpoint: bad, options: options, to: out) }
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("model.onnx").path))
            return m
        }
        try Self.tampered(good, to: bad, tensors: { $0.removeAll { $0.name == "l6.forward.kernel" } })
        #expect(export().contains("tensor 'l6.forward.kernel' is missing"))
        try Self.tampered(
            good, to: bad,
            tensors: {
                let i = $0.firstIndex { $0.name == "l11.kernel" }!
                $0[i] = SafeTensors.Tensor(
                    name: "l11.kernel", shape: [64, 33], values: [Float](repeating: 0, count: 2112))
            })
        #expect(export().contains("tensor 'l11.kernel' has shape [64, 33], expected [64, 32]"))
        try Self.tampered(
            good, to: bad,
            tensors: {
                let i = $0.firstIndex { $0.name == "l1.kernel" }!
                $0[i].values[3] = .nan
            })
        #expect(export().contains("tensor 'l1.kernel' holds nan at index 3; expected finite values"))
        try Self.tampered(good, to: bad, description: { $0["student"] = "transformer" })
        #expect(export().contains("transformer"))
        try Self.tampered(good, to: bad, description: { $0["labels"] = ["a", "b"] })
        #expect(export().contains("'classes' is 12 with 2 labels"))
        try Self.tampered(
            good, to: bad,
            description: { $0["feature_preset"] = "mystery-preset" })
        #expect(export().contains("mystery-preset"), "\(export())")
        try Self.tampered(good, to: bad, description: { $0["window_samples"] = 20000 })
        #expect(export().contains("'window_samples' 20000 gives 61 frames; 'frames' is 49"))
        try Self.tampered(
            good, to: bad,
            description: {
                for key in ["sample_rate", "window_samples", "task", "front_end"] { $0[key] = nil }
            })
        #expect(export().contains("expected --dataset with the dataset it was trained on"))
        try Self.tampered(good, to: bad, description: { $0["kd_lambda"] = 0 })
        var options = ExportOptions()
        options.withLocalisation = true
        #expect(export(options).contains("'with-localisation': the run distilled nothing (kd_lambda 0)"))
    }

    @Test("a multi-label checkpoint exports with sigmoid probabilities, both graphs, as tkd scores it")
    func multiLabel() throws {
        let dir = try TestFolder.make("export-multilabel")
        defer { try? FileManager.default.removeItem(at: dir) }
        let labels = ["Bark", "Engine", "Rain", "Speech", "Siren"]
        let (model, info) = try Checkpoint.untrained(
            student: .crnn, labels: labels, windowSamples: 16000, task: .multiLabel, seed: 4)
        let ck = dir.appendingPathComponent("ml.safetensors")
        try Checkpoint.save(model, info: info, optimizer: nil, to: ck)
        for input in ExportOptions.Input.allCases {
            var options = ExportOptions()
            options.input = input
            let r = try Exporter.export(
                checkpoint: ck, options: options, to: dir.appendingPathComponent(input.rawValue))
            #expect(r.manifest.task == .multiLabel && r.manifest.labels == labels)
            #expect(r.manifest.detector.labels == labels, "multi-label models detect every label")
            let runner = try GraphRunner.load(r.modelURL)
            #expect(runner.model.graph.nodes.last?.opType == "Sigmoid")
            let ckpt = try DeployableCheckpoint(ck)
            let windows = Exporter.probeWindows(ckpt.facts)
            let x = ckpt.features(windows)
            let native = try ckpt.scores(x)
            let feed =
                input == .audio
                ? TensorValue(shape: [2, 16000], floats: windows.flatMap { $0 })
                : TensorValue(shape: x.shape, floats: x.data)
            let out = try runner.run([input.rawValue: feed])
            expectClose(out["probabilities"]!.floats, native.probabilities, tolerance: 1e-5, "\(input) probabilities")
            let logits = out["logits"]!.floats
            expectClose(
                out["probabilities"]!.floats, logits.map { 1 / (1 + Foundation.exp(-$0)) }, tolerance: 1e-6,
                "sigmoid of the logits")
        }
    }

    @Test("the output folder: absent, empty or an earlier export; anything else is refused untouched")
    func outputFolder() throws {
        let dir = try TestFolder.make("export-folder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try DeployFixtures.checkpoint(.tcResNet, in: dir)
        let out = dir.appendingPathComponent("out")
        _ = try Exporter.export(checkpoint: ck, options: ExportOptions(), to: out)
        _ = try Exporter.export(checkpoint: ck, options: ExportOptions(), to: out)  // over an earlier export
        let foreign = dir.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        let m = Self.message { _ = try Exporter.export(checkpoint: ck, options: ExportOptions(), to: foreign) }
        #expect(m.contains("holds 1 file(s) that are not a tkd export (first: notes.txt)"), "\(m)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign.path) == ["notes.txt"])
    }

    @Test("deploy.json and model.onnx are checked together: hostile fields and a changed model are refused")
    func hostileManifest() throws {
        let dir = try TestFolder.make("export-manifest")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try DeployFixtures.checkpoint(.crnn, in: dir)
        let out = dir.appendingPathComponent("out")
        var options = ExportOptions()
        options.withLocalisation = true
        _ = try Exporter.export(checkpoint: ck, options: options, to: out)
        let manifestURL = out.appendingPathComponent("deploy.json")
        let original = try Data(contentsOf: manifestURL)
        _ = try ExportedModel(out)
        func with(_ change: (inout [String: Any]) -> Void) throws -> String {
            var json = try JSONSerialization.jsonObject(with: original) as! [String: Any]
            change(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: manifestURL)
            defer { try? original.write(to: manifestURL) }
            return Self.message { _ = try ExportedModel(out) }
        }
        func set(_ path: [String], _ value: Any) -> (inout [String: Any]) -> Void {
            { json in
                func go(_ d: inout [String: Any], _ keys: ArraySlice<String>) {
                    if keys.count == 1 {
                        d[keys.first!] = value
                    } else {
                        var inner = d[keys.first!] as! [String: Any]
                        go(&inner, keys.dropFirst())
                        d[keys.first!] = inner
                    }
                }
                go(&json, path[...])
            }
        }
        #expect(try with(set(["model", "file"], "../model.onnx")).contains("'model.file' is '../model.onnx'"))
        #expect(try with(set(["model", "sha256"], "abc")).contains("64 lowercase hex digits"))
        #expect(try with(set(["labels"], ["a", "a"])).contains("unique"))
        #expect(try with(set(["window", "frames"], 50)).contains("'window.frames' is 50; 16000 samples give 49"))
        #expect(try with(set(["detector", "hop_ms"], 0)).contains("'hop_ms' is 0"))
        #expect(try with(set(["detector", "labels"], ["cat"])).contains("'labels' names 'cat'"))
        #expect(try with(set(["sample_rate"], 8000)).contains("'features.front_end.sample_rate' is 16000"))
        #expect(try with(set(["localisation", "steps"], 9)).contains("'localisation.steps' is 9"))
        #expect(try with(set(["format"], "tkd-deploy/9")).contains("'format' is 'tkd-deploy/9'"))
        #expect(try with(set(["model", "input"], "features")).contains("do not match deploy.json's 'features'"))
        // One byte of the model changed.
        let modelURL = out.appendingPathComponent("model.onnx")
        var bytes = try Data(contentsOf: modelURL)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: modelURL)
        let m = Self.message { _ = try ExportedModel(out) }
        #expect(m.contains("the files do not belong together"), "\(m)")
    }
}
