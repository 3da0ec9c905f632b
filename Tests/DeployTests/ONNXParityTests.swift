import AudioIO
import DatasetFormat
import Foundation
import Layers
import TKDCore
import TensorStore
import TestSupport
import Testing
import Training

@testable import Deploy

/// tkd's exports against ONNX Runtime, without Python: `Scripts/reference/onnx_parity.py` ran each student's two
/// graphs in ONNX Runtime and stored the outputs; here the same checkpoint is rebuilt and exported again (its
/// graphs must hash as they did then), and tkd's own inference — the checkpoint through `FrontEnd` and
/// `StudentModel` — and tkd's runner on the exported graph are compared with them.
@Suite("ONNX export against ONNX Runtime")
struct ONNXParityTests {
    /// Probabilities of the features graph against tkd's inference on the same features (the bound).
    static let featuresGraphTolerance = 1e-5
    /// Probabilities and attention of the audio graph (the bound): float32 features in the graph.
    static let audioGraphTolerance = 1e-4
    /// The audio graph's features against tkd's float64 MFCCs: FeaturesTests' bound for the same presets
    /// against a float64 reference (the quietest mel bands' float32 rounding reaches every coefficient).
    static let mfccTolerance = 2e-3
    /// tkd's runner against ONNX Runtime on the same graph (both float32; different summation orders).
    static let runnerTolerance = 1e-5

    @Test("every student: graphs as fixtured, ONNX Runtime's outputs reproduced by tkd", arguments: Student.allCases)
    func parity(student: Student) throws {
        let fixture = try SafeTensorsFile(
            DeployFixtures.folder.appendingPathComponent("\(student.rawValue).safetensors"))
        func want(_ name: String) throws -> [Float] { try fixture.values(name) }
        let dir = try TestFolder.make("onnx-parity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try DeployFixtures.checkpoint(student, in: dir)
        var audioOptions = ExportOptions()
        audioOptions.withLocalisation = true
        let audio = try Exporter.export(checkpoint: ck, options: audioOptions, to: dir.appendingPathComponent("audio"))
        var featureOptions = ExportOptions()
        featureOptions.input = .features
        let features = try Exporter.export(
            checkpoint: ck, options: featureOptions, to: dir.appendingPathComponent("features"))
        let regenerate = "the export changed: rerun Scripts/reference/onnx_parity.py and review the diff"
        #expect(audio.manifest.model.graphSHA256 == fixture.metadata["audio_graph_sha256"], "\(regenerate)")
        #expect(features.manifest.model.graphSHA256 == fixture.metadata["features_graph_sha256"], "\(regenerate)")

        // tkd's own inference.
        let model = try DeployableCheckpoint(ck)
        let probe = DeployFixtures.probe()
        let nativeFeatures = model.features(probe)
        let native = try model.scores(nativeFeatures, localisation: true)
        expectClose(nativeFeatures.data, try want("audio.features"), tolerance: Self.mfccTolerance, "features")
        expectClose(
            native.probabilities, try want("audio.probabilities"), tolerance: Self.audioGraphTolerance,
            "audio graph probabilities")
        expectClose(
            native.attention ?? [], try want("audio.attention"), tolerance: Self.audioGraphTolerance, "attention")
        // The features graph read tkd's features of the probe, written by `tkd features extract`.
        let input = try want("features.input")
        let same = try model.scores(Tensor(shape: nativeFeatures.shape, data: input))
        expectClose(
            same.probabilities, try want("features.probabilities"), tolerance: Self.featuresGraphTolerance,
            "features graph probabilities")
        expectClose(same.logits, try want("features.logits"), tolerance: 1e-4, relativeTo: 1, "features graph logits")

        // tkd's runner on the graphs it wrote.
        let runner = try GraphRunner.load(audio.modelURL)
        let out = try runner.run(["audio": TensorValue(shape: [2, 16000], floats: probe.flatMap { $0 })])
        expectClose(
            out["probabilities"]!.floats, try want("audio.probabilities"), tolerance: Self.runnerTolerance,
            "runner, audio graph")
        expectClose(
            out["attention"]!.floats, try want("audio.attention"), tolerance: Self.runnerTolerance, "runner attention")
        let fRunner = try GraphRunner.load(features.modelURL)
        let fOut = try fRunner.run(["features": TensorValue(shape: nativeFeatures.shape, floats: input)])
        expectClose(
            fOut["probabilities"]!.floats, try want("features.probabilities"), tolerance: Self.runnerTolerance,
            "runner, features graph")
    }

    /// The other front ends in the graph against tkd's (float32 both): the dB presets within 0.01 dB and Kaldi's
    /// fbank within 0.005 nats — FeaturesTests' bounds for the same presets against torchaudio, librosa and
    /// Kaldi — on bins within 80 dB (18.4 nats) of their frame's maximum, where the basis's and the FFT's float32
    /// rounding stay below them; quieter bins are compared only to the floor of that range.
    @Test(
        "TC-ResNet on every other front end: graph as fixtured, features and probabilities as ONNX Runtime's",
        arguments: [FrontEndPreset.logmel40, .torchaudioMelspec, .librosaMelspec, .kaldiFbank])
    func otherPresets(preset: FrontEndPreset) throws {
        let fixture = try SafeTensorsFile(
            DeployFixtures.folder.appendingPathComponent("tc-resnet-\(preset.rawValue).safetensors"))
        let dir = try TestFolder.make("onnx-preset")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try DeployFixtures.checkpoint(.tcResNet, preset: preset, in: dir)
        var options = ExportOptions()
        options.withLocalisation = true
        let audio = try Exporter.export(checkpoint: ck, options: options, to: dir.appendingPathComponent("audio"))
        #expect(
            audio.manifest.model.graphSHA256 == fixture.metadata["audio_graph_sha256"],
            "the export changed: rerun Scripts/reference/onnx_parity.py and review the diff")
        let model = try DeployableCheckpoint(ck)
        let features = model.features(DeployFixtures.probe())
        let want = try fixture.values("audio.features")
        let decibels = preset != .kaldiFbank
        let (tolerance, range): (Float, Float) = decibels ? (0.01, 80) : (0.005, 18.4)
        // Per frame: bins within `range` of the frame's maximum, and the rest clipped to that floor.
        let f = features.shape[2]
        var worst: Float = 0
        for frame in 0..<(want.count / f) {
            let row = Array(want[(frame * f)..<((frame + 1) * f)]),
                got = Array(features.data[(frame * f)..<((frame + 1) * f)])
            let floor = row.max()! - range
            for (a, b) in zip(got, row) { worst = max(worst, abs(max(a, floor) - max(b, floor))) }
        }
        #expect(worst <= tolerance, "\(preset.rawValue): features differ by \(worst)")
        let native = try model.scores(features, localisation: true)
        expectClose(
            native.probabilities, try fixture.values("audio.probabilities"), tolerance: Self.audioGraphTolerance,
            "\(preset.rawValue) probabilities")
    }

    @Test("a model written by onnx.helper (float_data, per-axis int8) reads and runs as in ONNX Runtime")
    func pythonWritten() throws {
        let runner = try GraphRunner.load(DeployFixtures.folder.appendingPathComponent("python-written.onnx"))
        struct Reference: Decodable {
            var input: [Float]
            var input_shape: [Int]
            var output: [Float]
        }
        let r = try JSONDecoder().decode(
            Reference.self,
            from: Data(contentsOf: DeployFixtures.folder.appendingPathComponent("python-written.json")))
        #expect(runner.model.producerName == "onnx.helper")
        let out = try runner.run(["x": TensorValue(shape: r.input_shape, floats: r.input)])
        expectClose(out["y"]!.floats, r.output, tolerance: 1e-5, "python-written model")
    }

    @Test("tkd's detector finds Scripts/detect_onnx.py's detections on the fixture recording")
    func detector() throws {
        struct Fixture: Decodable {
            struct Settings: Decodable {
                var hop_ms: Int
                var smoothing_windows: Int
                var cooldown_ms: Int
                var threshold: Double
                var labels: [String]
            }
            var graph_sha256: String
            var settings: Settings
            var detections: [Detection]
        }
        let f = try JSONDecoder().decode(
            Fixture.self, from: Data(contentsOf: DeployFixtures.folder.appendingPathComponent("detect-tc-resnet.json")))
        #expect(!f.detections.isEmpty, "the fixture must hold detections to compare")
        let dir = try TestFolder.make("onnx-detect")
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = ExportOptions()
        options.withLocalisation = true
        let export = try Exporter.export(
            checkpoint: try DeployFixtures.checkpoint(.tcResNet, in: dir), options: options,
            to: dir.appendingPathComponent("model"))
        #expect(export.manifest.model.graphSHA256 == f.graph_sha256, "rerun Scripts/reference/onnx_parity.py")
        let p = DeployFixtures.probe()
        let wav = dir.appendingPathComponent("probe-4s.wav")
        try AudioWriter.write(p[0] + p[1] + p[0] + p[1], sampleRate: 16000, to: wav)
        let s = f.settings
        let settings = DeployManifest.DetectorSettings(
            hopMs: s.hop_ms, smoothingWindows: s.smoothing_windows, cooldownMs: s.cooldown_ms, threshold: s.threshold,
            labels: s.labels)
        for scorer in [try ExportedModel(dir.appendingPathComponent("model")) as WindowScoring] {
            var got: [Detection] = []
            _ = try Detector(scorer: scorer, settings: settings).run(wav, name: "probe-4s.wav") { got.append($0) }
            #expect(got.map(\.label) == f.detections.map(\.label))
            #expect(got.map(\.timeSeconds) == f.detections.map(\.timeSeconds))
            for (a, b) in zip(got, f.detections) {
                #expect(abs(a.score - b.score) <= 1e-5, "score \(a.score) against \(b.score) at \(a.timeSeconds) s")
                #expect(abs((a.peakSeconds ?? -1) - (b.peakSeconds ?? -1)) < 1e-9)
            }
        }
    }
}
