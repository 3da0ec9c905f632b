import DatasetFormat
import Features
import Foundation
import Layers
import TKDCore
import TensorStore
import Training
import TrainingLoop

/// `tkd export`'s settings.
public struct ExportOptions: Sendable {
    public enum Input: String, Sendable, CaseIterable { case audio, features }
    public enum Precision: String, Sendable, CaseIterable { case float32, int8 }
    /// `window`: one window in, its scores out; `streaming`: one hop in with the state, the scores and the next
    /// state out (`StreamingGraph`).
    public enum Graph: String, Sendable, CaseIterable { case window, streaming }

    public var input: Input = .audio
    public var precision: Precision = .float32
    public var graph: Graph = .window
    /// Keep the KD head (or the model's own attention) as the `attention` output.
    public var withLocalisation = false
    /// int8: the dataset whose training split calibrates the activation ranges.
    public var calibration: URL?
    /// int8: at most this many calibration examples (evenly spaced over the split's ids, sorted).
    public var calibrationExamples = 512
    /// The dataset the checkpoint was trained on (read only when the checkpoint lacks a deployment fact).
    public var dataset: URL?
    /// Changes to the recommended detector settings before they are recorded (the command line's).
    public var detector: @Sendable (DeployManifest.DetectorSettings) -> DeployManifest.DetectorSettings = { $0 }

    public init() {}
}

/// Writes a student checkpoint as an ONNX model with its `deploy.json` (`tkd export`): the graph from audio
/// (or features) to logits and probabilities, batch norm folded, training-only parts left out; float32, or
/// int8 QDQ calibrated on a dataset. The writer is Swift; nothing else runs. Before anything is written, the
/// exported bytes are decoded again and run by `GraphRunner` on a probe batch, and a float32 graph must
/// reproduce the checkpoint's own probabilities (`selfCheckTolerance`): a graph that computes something
/// else is never written.
public enum Exporter {
    /// The ONNX opset of every export: opset 17 (ONNX 1.12, 2022), run by ONNX Runtime ≥ 1.12, TensorRT ≥ 8.6
    /// and onnx2tf — new enough for `Split`'s and `Squeeze`'s inputs and the GRU `layout` semantics tkd
    /// relies on, old enough for the runtimes devices ship.
    public static let opset = 17
    /// IR version 8, the one ONNX 1.12 wrote for opset 17.
    public static let irVersion = 8
    /// The most a float32 export's probabilities may differ from the checkpoint's on the probe batch.
    public static let selfCheckTolerance: Float = 1e-3

    public struct Result: Sendable {
        public var manifest: DeployManifest
        public var modelURL: URL
        /// max |probability difference| between the exported graph (run by tkd) and the checkpoint on the probe.
        public var selfCheckError: Float
    }

    /// Exports `checkpoint` into `folder` (created; a folder holding anything but a previous export is refused).
    /// - Throws: `DeployError`, and the checkpoint's and calibration dataset's own errors; nothing is left in
    ///   `folder` when it throws.
    public static func export(checkpoint url: URL, options: ExportOptions, to folder: URL) throws -> Result {
        try checkOutputFolder(folder)
        let ck = try DeployableCheckpoint(url, dataset: options.dataset)
        // Everything the options can get wrong is checked before the graph is built and calibrated.
        let detector = options.detector(Detector.recommended(for: ck.facts))
        if let p = detector.problem(modelLabels: ck.facts.labels, sampleRate: ck.facts.sampleRate) {
            throw DeployError.export(field: "detector", reason: p)
        }
        if options.graph == .streaming {
            if options.withLocalisation || options.precision == .int8 {
                throw DeployError.export(
                    field: "graph",
                    reason: "a streaming graph is float32 without localisation (its scores are of everything heard "
                        + "so far, not of a window); expected --graph window for --with-localisation or int8")
            }
            return try exportStreaming(ck, options: options, detector: detector, to: folder)
        }
        var localisation: StudentGraph.Localisation?
        if options.withLocalisation {
            if let problem = ck.localisationProblem {
                throw DeployError.export(field: "with-localisation", reason: problem)
            }
            localisation =
                ck.localisationHead == .own
                ? .own : .kdHead(query: ck.model.kdQuery.value, temperature: ck.info.details.kdTemperature)
        }
        var built = try build(ck, input: options.input, localisation: localisation)
        var quantization: DeployManifest.Quantization?
        if options.precision == .int8 {
            guard let calibration = options.calibration else {
                throw DeployError.export(field: "calibration", reason: "int8 needs --calibration DATASET")
            }
            let q = try quantize(
                built.graph, checkpoint: ck, localisation: localisation, calibration: calibration,
                examples: options.calibrationExamples)
            built.graph = q.graph
            quantization = q.description
        }
        let model = onnxModel(built.graph, checkpoint: ck, input: options.input, precision: options.precision)
        let bytes = model.serialized()
        // The bytes as a reader sees them, run on the probe against the checkpoint itself.
        let runner = try GraphRunner(
            bytes: bytes, path: folder.appendingPathComponent(DeployManifest.modelFileName).path)
        let check = try selfCheck(runner, checkpoint: ck, input: options.input, localisation: localisation != nil)
        if options.precision == .float32 && !(check <= selfCheckTolerance) {
            throw DeployError.export(
                field: "graph",
                reason: "the exported graph's probabilities differ from the checkpoint's by \(check) on the probe "
                    + "batch; expected at most \(selfCheckTolerance) (a tkd bug: please report it)")
        }
        let outputs = ["logits", "probabilities"] + (localisation == nil ? [] : ["attention"])
        return try write(
            bytes, model: model, checkpoint: ck, options: options, outputs: outputs, detector: detector,
            localisation: localisation == nil
                ? nil
                : .init(
                    output: "attention", head: ck.localisationHead.rawValue, steps: ck.stepCentresSeconds.count,
                    stepCentresSeconds: ck.stepCentresSeconds),
            built: built, quantization: quantization, streaming: nil, check: check, to: folder)
    }

    /// Writes `model.onnx` and its `deploy.json` (atomically: nothing is left of either when it throws).
    static func write(
        _ bytes: [UInt8], model: ONNXModel, checkpoint ck: DeployableCheckpoint, options: ExportOptions,
        outputs: [String], detector: DeployManifest.DetectorSettings, localisation: DeployManifest.Localisation?,
        built: Built, quantization: DeployManifest.Quantization?, streaming: DeployManifest.Streaming?,
        check: Float, to folder: URL
    ) throws -> Result {
        let modelURL = folder.appendingPathComponent(DeployManifest.modelFileName)
        let manifest = DeployManifest(
            model: .init(
                file: DeployManifest.modelFileName, sha256: SHA256.digest(bytes).hexString, bytes: bytes.count,
                graphSHA256: SHA256.digest(model.graph.serialized()).hexString, opset: opset, irVersion: irVersion,
                precision: options.precision.rawValue, input: options.input.rawValue, outputs: outputs),
            task: ck.facts.task, labels: ck.facts.labels, sampleRate: ck.facts.sampleRate,
            window: .init(samples: ck.facts.windowSamples, seconds: ck.facts.windowSeconds, frames: ck.facts.frames),
            features: .init(
                preset: ck.facts.preset, frontEnd: ck.facts.frontEnd, coefficients: ck.facts.frontEnd.featureCount,
                inGraph: options.input == .audio),
            detector: detector,
            localisation: localisation,
            size: .init(
                trainableParameters: ck.trainableParameters, modelBytes: bytes.count, macsPerWindow: built.modelMACs,
                frontEndMacsPerWindow: built.frontEndMACs),
            checkpoint: summary(ck), quantization: quantization, streaming: streaming)
        if let p = manifest.problem { throw DeployError.export(field: "deploy.json", reason: p) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            try AtomicFile.write(Data(bytes), to: modelURL, durable: true)
            try AtomicFile.write(
                try CanonicalJSON.encodePretty(manifest), to: folder.appendingPathComponent(DeployManifest.fileName),
                durable: true)
        } catch {
            try? FileManager.default.removeItem(at: modelURL)
            throw error
        }
        return Result(manifest: manifest, modelURL: modelURL, selfCheckError: check)
    }

    /// `folder` must be absent, empty, or a previous export (it holds `deploy.json`).
    static func checkOutputFolder(_ folder: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw DeployError.export(field: "out", reason: "\(folder.path) is a file; expected a folder for the export")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let made = Set([DeployManifest.fileName, DeployManifest.modelFileName])
        if names.isEmpty || (names.contains(DeployManifest.fileName) && names.allSatisfy { made.contains($0) }) {
            return
        }
        throw DeployError.export(
            field: "out",
            reason: "\(folder.path) holds \(names.count) file(s) that are not a tkd export (first: "
                + "\(names.sorted().first!)); expected an empty folder or an earlier export")
    }

    struct Built {
        var graph: ONNXGraph
        var frontEndMACs: Int
        var modelMACs: Int
    }

    /// The float32 graph: inputs, the front end (for `.audio`), the student, the outputs.
    static func build(
        _ ck: DeployableCheckpoint, input: ExportOptions.Input, localisation: StudentGraph.Localisation?
    ) throws -> Built {
        let b = GraphBuilder()
        let f = ck.facts
        let graphInput: String
        let features: String
        if input == .audio {
            graphInput = "audio"
            b.input("audio", shape: [GraphBuilder.batch, f.windowSamples])
            features = try FrontEndGraph.emit(
                b, config: f.frontEnd, samples: f.windowSamples, audio: "audio", output: "features")
        } else {
            graphInput = "features"
            b.input("features", shape: [GraphBuilder.batch, f.frames, f.frontEnd.featureCount])
            features = "features"
        }
        let frontEndMACs = b.macs
        b.macs = 0
        let (logits, attention) = try StudentGraph(model: ck.model, b: b).emit(
            features: features, localisation: localisation)
        let modelMACs = b.macs
        let named = b.node("Identity", [logits], shape: b.shape(logits), output: "logits")
        let probabilities = b.node(
            ck.multiLabel ? "Sigmoid" : "Softmax", [named], ck.multiLabel ? [] : [.int("axis", 1)],
            shape: b.shape(named), output: "probabilities")
        var outputs = [b.valueInfo(named), b.valueInfo(probabilities)]
        if let attention {
            outputs.append(b.valueInfo(b.node("Identity", [attention], shape: b.shape(attention), output: "attention")))
        }
        let inputText =
            input == .audio
            ? "audio [batch, \(f.windowSamples)] at \(f.sampleRate) Hz"
            : "features [batch, \(f.frames), \(f.frontEnd.featureCount)] (\(f.preset))"
        let doc =
            "TemporalKD \(ck.student.rawValue) (\(f.task.rawValue), \(f.labels.count) labels) exported by tkd "
            + "\(TKDVersion.current): \(inputText) → logits, probabilities" + (attention == nil ? "" : ", attention")
        let graph = b.graph(
            name: "tkd_\(ck.student.rawValue.replacingOccurrences(of: "-", with: "_"))",
            inputs: [b.valueInfo(graphInput)], outputs: outputs, doc: doc)
        return Built(graph: graph, frontEndMACs: frontEndMACs, modelMACs: modelMACs)
    }

    static func onnxModel(
        _ graph: ONNXGraph, checkpoint ck: DeployableCheckpoint, input: ExportOptions.Input,
        precision: ExportOptions.Precision
    ) -> ONNXModel {
        let labels = (try? CanonicalJSON.encode(ck.facts.labels)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return ONNXModel(
            irVersion: irVersion, opsets: [("", opset)], producerName: "tkd", producerVersion: TKDVersion.current,
            docString: graph.docString, graph: graph,
            metadata: [
                ("tkd.student", ck.student.rawValue), ("tkd.task", ck.facts.task.rawValue), ("tkd.labels", labels),
                ("tkd.sample_rate", String(ck.facts.sampleRate)),
                ("tkd.window_samples", String(ck.facts.windowSamples)),
                ("tkd.feature_preset", ck.facts.preset), ("tkd.input", input.rawValue),
                ("tkd.precision", precision.rawValue),
            ])
    }

    static func summary(_ ck: DeployableCheckpoint) -> DeployManifest.CheckpointSummary {
        func scores(_ m: Metrics?) -> DeployManifest.Scores? {
            m.map {
                .init(
                    examples: $0.examples, accuracy: $0.accuracy,
                    meanAveragePrecision: $0.multiLabel?.macroAveragePrecision)
            }
        }
        let d = ck.info.details
        return .init(
            file: ck.url.lastPathComponent, sha256: ck.sha256, student: d.student.rawValue, step: ck.info.step,
            datasetName: ck.info.datasetName, kdLambda: Double(d.kdLambda),
            kdTarget: d.kdLambda > 0 ? (d.teacherFingerprint.map { "teacher:\($0)" } ?? d.kdTarget.description) : nil,
            validation: scores(ck.metrics?.validation), test: scores(ck.metrics?.test))
    }

    // MARK: the probe

    /// Two windows of a deterministic probe signal: noise with a rising envelope plus two tones.
    public static func probeWindows(_ f: DeploymentFacts) -> [[Float]] {
        (0..<2).map { e in
            var rng = CounterRNG(seed: 0, key: ["export", "probe", String(e)])
            let n = f.windowSamples
            return (0..<n).map { i in
                let t = Double(i) / Double(f.sampleRate)
                let envelope = 0.05 + 0.3 * Double(i) / Double(max(n - 1, 1))
                let tone = 0.2 * sin(2 * Double.pi * (440 + 220 * Double(e)) * t) + 0.1 * sin(2 * Double.pi * 2100 * t)
                return Float(envelope * rng.normal() * 0.5 + tone)
            }
        }
    }

    /// max |Δ probability| between `runner` and the checkpoint on the probe batch (and the attention, when
    /// exported).
    static func selfCheck(
        _ runner: GraphRunner, checkpoint ck: DeployableCheckpoint, input: ExportOptions.Input, localisation: Bool
    ) throws -> Float {
        let windows = probeWindows(ck.facts)
        let features = ck.features(windows)
        let native = try ck.scores(features, localisation: localisation)
        let inputValue =
            input == .audio
            ? TensorValue(shape: [windows.count, ck.facts.windowSamples], floats: windows.flatMap { $0 })
            : TensorValue(shape: features.shape, floats: features.data)
        let out = try runner.run([input.rawValue: inputValue])
        guard let p = out["probabilities"]?.floats, p.count == native.probabilities.count, p.allSatisfy(\.isFinite)
        else {
            throw DeployError.export(field: "graph", reason: "the exported graph gives no finite probabilities")
        }
        var worst = zip(p, native.probabilities).map { abs($0 - $1) }.max() ?? 0
        if localisation, let a = out["attention"]?.floats, let na = native.attention, a.count == na.count {
            worst = max(worst, zip(a, na).map { abs($0 - $1) }.max() ?? 0)
        }
        return worst
    }
}
