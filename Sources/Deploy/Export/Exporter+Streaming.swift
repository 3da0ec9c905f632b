import DatasetFormat
import Features
import Foundation
import TKDCore

extension Exporter {
    /// `--graph streaming`: the graph of `StreamingGraph`, self-checked like the window graph — reset to zeros
    /// and run through each probe window's hops, it must give the checkpoint's probabilities.
    static func exportStreaming(
        _ ck: DeployableCheckpoint, options: ExportOptions, detector: DeployManifest.DetectorSettings,
        to folder: URL
    ) throws -> Result {
        let f = ck.facts, c = f.frontEnd
        let hop = c.hopLength, frame = c.frameLength
        // Whatever cannot stream is refused before anything is built.
        let convolutionDelay = try StreamingGraph.convolutionDelay(ck.model)
        if options.input == .audio {
            var why: String?
            if c.padding != .none { why = "its frames are centre-padded" }
            if case .decibels(_, _?) = c.log { why = "its top-dB floor is relative to the whole window's peak" }
            if frame % hop != 0 { why = "its frame (\(frame) samples) is not a whole number of hops (\(hop))" }
            if let why {
                throw DeployError.export(
                    field: "input",
                    reason: "the front end '\(f.preset)' cannot stream from audio: \(why); expected --input features")
            }
        }
        guard f.windowSamples % hop == 0, detector.hopMs * f.sampleRate / 1000 % hop == 0 else {
            throw DeployError.export(
                field: "detector",
                reason: "the window (\(f.windowSamples) samples) and the detector's hop (\(detector.hopMs) ms) must "
                    + "be whole numbers of the front end's hop (\(hop) samples) to stream")
        }
        let b = GraphBuilder()
        var g = StreamingGraph(model: ck.model, b: b)
        let frameInput: String
        var audioDelay = 0
        var frontEndMACs = 0
        if options.input == .audio {
            b.input("audio", shape: [GraphBuilder.batch, hop])
            var samples = "audio"
            if frame > hop {
                b.scope = "audio"
                let buffer = g.state("audio.buffer", [frame - hop])
                samples = b.node("Concat", [buffer, "audio"], [.int("axis", 1)], shape: [GraphBuilder.batch, frame])
                g.next(
                    buffer,
                    b.node(
                        "Slice",
                        [samples, b.int64s("starts", [hop]), b.int64s("ends", [frame]), b.int64s("axes", [1])],
                        shape: [GraphBuilder.batch, frame - hop]))
                b.scope = ""
            }
            let features = try FrontEndGraph.emit(b, config: c, samples: frame, audio: samples, output: "features")
            frameInput = b.reshape(features, [GraphBuilder.batch, c.featureCount])
            audioDelay = frame / hop - 1
            frontEndMACs = b.macs
            b.macs = 0
        } else {
            b.input("features", shape: [GraphBuilder.batch, c.featureCount])
            frameInput = "features"
        }
        let warmup = audioDelay + convolutionDelay
        let logits = try g.emit(frame: frameInput, warmup: warmup)
        let modelMACs = b.macs
        let named = b.node("Identity", [logits], shape: b.shape(logits), output: "logits")
        let probabilities = b.node(
            ck.multiLabel ? "Sigmoid" : "Softmax", [named], ck.multiLabel ? [] : [.int("axis", 1)],
            shape: b.shape(named), output: "probabilities")
        let streaming = DeployManifest.Streaming(
            hopSamples: hop, warmupSteps: warmup, windowSteps: f.frames + audioDelay, states: g.states)
        let inputText =
            options.input == .audio
            ? "audio [batch, \(hop)] (one hop at \(f.sampleRate) Hz)"
            : "features [batch, \(c.featureCount)] (one frame of \(f.preset))"
        let graph = b.graph(
            name: "tkd_\(ck.student.rawValue.replacingOccurrences(of: "-", with: "_"))_streaming",
            inputs: [b.valueInfo(options.input.rawValue)] + g.states.map { b.valueInfo($0.name) },
            outputs: [b.valueInfo(named), b.valueInfo(probabilities)]
                + g.states.map { b.valueInfo($0.output) },
            doc: "TemporalKD \(ck.student.rawValue) streaming graph (\(f.labels.count) labels) exported by tkd "
                + "\(TKDVersion.current): \(inputText) and \(g.states.count) state tensors → logits, probabilities "
                + "and the next states; reset the states to zeros at the start of a stream")
        let model = onnxModel(graph, checkpoint: ck, input: options.input, precision: .float32)
        let bytes = model.serialized()
        let runner = try GraphRunner(
            bytes: bytes, path: folder.appendingPathComponent(DeployManifest.modelFileName).path)
        // reset1 on the probe: each window's hops from zeros, against the checkpoint on the whole window.
        let windows = probeWindows(f)
        let session = StreamingSession(
            runner: runner, streaming: streaming, input: options.input.rawValue, frontEnd: try FrontEnd(c),
            labels: f.labels.count)
        let streamed = try session.windowScores(windows).probabilities
        let native = try ck.scores(ck.features(windows), localisation: false)
        guard streamed.count == native.probabilities.count, streamed.allSatisfy(\.isFinite) else {
            throw DeployError.export(field: "graph", reason: "the streaming graph gives no finite probabilities")
        }
        let check = zip(streamed, native.probabilities).map { abs($0 - $1) }.max() ?? 0
        if !(check <= selfCheckTolerance) {
            throw DeployError.export(
                field: "graph",
                reason: "the streaming graph's probabilities, reset per window, differ from the checkpoint's by "
                    + "\(check) on the probe batch; expected at most \(selfCheckTolerance) (a tkd bug: please "
                    + "report it)")
        }
        let built = Built(
            graph: graph, frontEndMACs: frontEndMACs * streaming.windowSteps,
            modelMACs: modelMACs * streaming.windowSteps)
        return try write(
            bytes, model: model, checkpoint: ck, options: options,
            outputs: ["logits", "probabilities"] + g.states.map(\.output), detector: detector, localisation: nil,
            built: built, quantization: nil, streaming: streaming, check: check, to: folder)
    }
}
