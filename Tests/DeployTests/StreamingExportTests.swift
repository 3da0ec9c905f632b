import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import TensorStore
import TestSupport
import Testing
import Training

@testable import Deploy

/// `tkd export --graph streaming` against the window graph and against ONNX Runtime, without Python:
/// `Scripts/reference/streaming_parity.py` ran the streaming graphs of LSTM-P and CRNN call by call in ONNX Runtime
/// (reset per window, and carried over a 4-s recording) and stored the outputs; here the checkpoint is rebuilt
/// and exported again (the graphs must hash as they did then).
@Suite("streaming graphs")
struct StreamingExportTests {
    /// reset1 against the window graph: kws_streaming's check, at the issue's bound.
    static let reset1Tolerance = 1e-4
    /// tkd's runner against ONNX Runtime on the same streaming graph, call by call (float32, different
    /// summation orders; 200 calls of carried state for reset0).
    static let runnerTolerance = 1e-5

    static let streamable: [Student] = [.lstmP, .crnn]

    @Test(
        "reset1 gives the window graph's scores, in tkd and in ONNX Runtime; reset0 as ONNX Runtime",
        arguments: streamable)
    func parity(student: Student) throws {
        let fixture = try SafeTensorsFile(
            DeployFixtures.folder.appendingPathComponent("\(student.rawValue)-streaming.safetensors"))
        func want(_ name: String) throws -> [Float] { try fixture.values(name) }
        let dir = try TestFolder.make("streaming-parity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try DeployFixtures.checkpoint(student, in: dir)
        let window = try Exporter.export(checkpoint: ck, options: ExportOptions(), to: dir.appendingPathComponent("w"))
        var options = ExportOptions()
        options.graph = .streaming
        let audio = try Exporter.export(checkpoint: ck, options: options, to: dir.appendingPathComponent("a"))
        options.input = .features
        let features = try Exporter.export(checkpoint: ck, options: options, to: dir.appendingPathComponent("f"))
        let regenerate = "the export changed: rerun Scripts/reference/streaming_parity.py and review the diff"
        #expect(window.manifest.model.graphSHA256 == fixture.metadata["window_graph_sha256"], "\(regenerate)")
        #expect(audio.manifest.model.graphSHA256 == fixture.metadata["audio_graph_sha256"], "\(regenerate)")
        #expect(features.manifest.model.graphSHA256 == fixture.metadata["features_graph_sha256"], "\(regenerate)")
        let st = try #require(audio.manifest.streaming)
        #expect(st.hopSamples == 320 && st.windowSteps == 50)
        #expect(st.warmupSteps == (student == .crnn ? 7 : 1), "audio buffer 1 call, CRNN's convolutions 2 + 4")
        #expect(features.manifest.streaming?.warmupSteps == (student == .crnn ? 6 : 0))

        let probe = DeployFixtures.probe()
        let windowModel = try ExportedModel(dir.appendingPathComponent("w"))
        let windowOut = try windowModel.outputs(probe)
        // The window graph is not trivially flat on this probe: the comparison below means something.
        #expect((windowOut.logits.max() ?? 0) - (windowOut.logits.min() ?? 0) > 0.05)
        for (name, folder) in [("audio", "a"), ("features", "f")] {
            let streamed = try ExportedModel(dir.appendingPathComponent(folder)).outputs(probe)
            expectClose(streamed.logits, windowOut.logits, tolerance: Self.reset1Tolerance, "\(name) reset1 logits")
            expectClose(
                streamed.probabilities, windowOut.probabilities, tolerance: Self.reset1Tolerance,
                "\(name) reset1 probabilities")
            expectClose(
                streamed.probabilities, try want("reset1.\(name).probabilities"), tolerance: Self.runnerTolerance,
                "\(name) reset1 against ONNX Runtime")
        }
        // ONNX Runtime's own reset1 against its own window graph.
        expectClose(
            try want("reset1.audio.logits"), try want("window.logits"), tolerance: Self.reset1Tolerance,
            "ONNX Runtime reset1 logits")
        expectClose(
            try want("window.probabilities"), windowOut.probabilities, tolerance: Self.runnerTolerance,
            "window graph against ONNX Runtime")

        // reset0: the states carried over the 4-s recording, every call.
        let session = try StreamingSession(try ExportedModel(dir.appendingPathComponent("a")))
        let recording = probe[0] + probe[1] + probe[0] + probe[1]
        var calls: [Float] = []
        for k in 0..<(recording.count / 320) {
            calls += try #require(try session.feed([Array(recording[(k * 320)..<((k + 1) * 320)])])).probabilities
        }
        expectClose(calls, try want("reset0.audio"), tolerance: Self.runnerTolerance, "reset0 against ONNX Runtime")

        // The detector on a streaming export reads the carried-over scores where sliding windows end.
        let wav = dir.appendingPathComponent("probe-4s.wav")
        try AudioWriter.write(recording, sampleRate: 16000, to: wav)
        var ends: [Double] = []
        var rows: [Float] = []
        let settings = audio.manifest.detector
        let summary = try Detector(scorer: try ExportedModel(dir.appendingPathComponent("a")), settings: settings)
            .run(
                wav, onDetection: { _ in },
                onWindow: {
                    ends.append($0.timeSeconds)
                    rows += $0.probabilities
                })
        #expect(summary.windows == 31, "4 s, a 1-s window, 100-ms hop: windows end at 1.0, 1.1, … 4.0 s")
        #expect(ends.first == 1.0 && ends.last == 4.0)
        let k = 12
        var expected: [Float] = []
        for i in 0..<31 {
            let call = 49 + 5 * i  // 0-based: call 50 + 5i
            expected += calls[(call * k)..<((call + 1) * k)]
        }
        #expect(rows == expected, "window i's scores are call 50 + 5i's")

        // --reset-every 2: two copies restarted every 2 s, staggered by 1 s; wherever the copy read is a window
        // old — every whole second — the score is the window graph's on that second of audio (reset1).
        var reset: [(Double, [Float])] = []
        let periodic = try Detector(
            scorer: try ExportedModel(dir.appendingPathComponent("a")), settings: settings, stateResetWindows: 2)
        let again = try periodic.run(
            wav, onDetection: { _ in }, onWindow: { reset.append(($0.timeSeconds, $0.probabilities)) })
        #expect(again.windows == 31)
        let whole = reset.filter { abs($0.0 - $0.0.rounded()) < 1e-9 }
        #expect(whole.map(\.0) == [1, 2, 3, 4])
        let seconds = (0..<4).map { Array(recording[($0 * 16000)..<(($0 + 1) * 16000)]) }
        expectClose(
            whole.flatMap(\.1), try windowModel.outputs(seconds).probabilities, tolerance: Self.reset1Tolerance,
            "--reset-every 2 at whole seconds against the window graph")
        // Between them the copy read has heard 1-2 s: not the window graph's, and not reset0's either.
        #expect(reset.map(\.1) != (0..<31).map { Array(rows[($0 * k)..<(($0 + 1) * k)]) })
        // A streaming export's scores come every whole number of 20-ms calls: a 30-ms hop is refused.
        var odd = settings
        odd.hopMs = 30
        #expect(throws: DeployError.self) {
            try Detector(scorer: try ExportedModel(dir.appendingPathComponent("a")), settings: odd)
        }
        // Restarting applies to streaming exports only, every N ≥ 2 windows.
        #expect(throws: DeployError.self) {
            try Detector(scorer: windowModel, settings: settings, stateResetWindows: 2)
        }
        #expect(throws: DeployError.self) {
            try Detector(
                scorer: try ExportedModel(dir.appendingPathComponent("a")), settings: settings, stateResetWindows: 1)
        }
    }

    @Test(
        "students that look ahead or read the whole window are refused, naming why",
        arguments: [
            Student.tcResNet, .attRNN, .mhAttRNN,
        ])
    func refused(student: Student) throws {
        let dir = try TestFolder.make("streaming-refused")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try DeployFixtures.checkpoint(student, in: dir)
        var options = ExportOptions()
        options.graph = .streaming
        let out = dir.appendingPathComponent("out")
        let error = #expect(throws: DeployError.self) { try Exporter.export(checkpoint: ck, options: options, to: out) }
        let text = "\(error.map { $0 as Error } ?? DeployError.export(field: "", reason: ""))"
        #expect(text.contains("cannot stream") && text.contains("--graph window"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("a streaming graph with localisation or int8 is refused; a tampered state contract does not load")
    func badOptionsAndManifests() throws {
        let dir = try TestFolder.make("streaming-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try DeployFixtures.checkpoint(.lstmP, in: dir)
        var options = ExportOptions()
        options.graph = .streaming
        options.withLocalisation = true
        #expect(throws: DeployError.self) {
            try Exporter.export(checkpoint: ck, options: options, to: dir.appendingPathComponent("x"))
        }
        options.withLocalisation = false
        let folder = dir.appendingPathComponent("ok")
        _ = try Exporter.export(checkpoint: ck, options: options, to: folder)
        let url = folder.appendingPathComponent(DeployManifest.fileName)
        let original = try String(contentsOf: url, encoding: .utf8)
        for (from, to) in [("\"l0.c.next\"", "\"../l0.c.next\""), ("\"window_steps\" : 50", "\"window_steps\" : 5")] {
            #expect(original.contains(from), "\(from)")
            try original.replacingOccurrences(of: from, with: to).write(to: url, atomically: true, encoding: .utf8)
            #expect(throws: (any Error).self) { try ExportedModel(folder) }
        }
    }
}
