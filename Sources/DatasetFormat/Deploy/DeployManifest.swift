import Foundation
import TKDCore

/// `deploy.json` beside an exported `model.onnx` (contract; `tkd export` writes it, `tkd detect --model` and
/// `Scripts/detect_onnx.py` read it): what a device needs to run the model and what it was made from, in the
/// spirit of microWakeWord's model manifest. Every field is documented in Docs/deploying.md ("deploy.json").
public struct DeployManifest: Codable, Equatable, Sendable, DescriptionFile {
    public static let fileName = "deploy.json"
    public static let modelFileName = "model.onnx"
    public static let currentFormat = "tkd-deploy/1"
    public static let madeBy = "a model folder made by tkd export"

    public var format = DeployManifest.currentFormat
    /// `tkd <version>` that exported it.
    public var tool: String
    public var model: ModelFile
    public var task: DatasetTask
    /// Class names in output order.
    public var labels: [String]
    public var sampleRate: Int
    public var window: Window
    public var features: Features
    /// The settings `tkd detect` and `Scripts/detect_onnx.py` use unless told otherwise.
    public var detector: DetectorSettings
    /// Present when the model has the `attention` output (`--with-localisation`).
    public var localisation: Localisation?
    public var size: Size
    public var checkpoint: CheckpointSummary
    /// Present for int8 exports.
    public var quantization: Quantization?
    /// Present for streaming graphs (`tkd export --graph streaming`).
    public var streaming: Streaming?

    /// A streaming graph's contract: each call reads `hop_samples` of audio (`input: audio`, [batch,
    /// hop_samples]) or one frame of features (`input: features`, [batch, coefficients]) with every state, and
    /// gives the scores and each state's next value. States start at zeros (a reset).
    public struct Streaming: Codable, Equatable, Sendable {
        /// The front end's hop: audio samples per call (also for `input: features`, one frame per hop).
        public var hopSamples: Int
        /// Calls after a reset during which the recurrent states are held (until the buffers hold real frames).
        public var warmupSteps: Int
        /// Calls after a reset, on a window's hops (or frames) in order, after which the scores are the window
        /// graph's for that window (`window.frames`, plus frame/hop − 1 calls for the audio buffer).
        public var windowSteps: Int
        public var states: [State]

        public struct State: Codable, Equatable, Sendable {
            /// The graph input.
            public var name: String
            /// The graph output holding its next value (`<name>.next`).
            public var output: String
            /// Its shape after the batch.
            public var shape: [Int]

            public init(name: String, output: String, shape: [Int]) {
                self.name = name
                self.output = output
                self.shape = shape
            }
        }

        enum CodingKeys: String, CodingKey {
            case states
            case hopSamples = "hop_samples", warmupSteps = "warmup_steps", windowSteps = "window_steps"
        }

        public init(hopSamples: Int, warmupSteps: Int, windowSteps: Int, states: [State]) {
            self.hopSamples = hopSamples
            self.warmupSteps = warmupSteps
            self.windowSteps = windowSteps
            self.states = states
        }

        /// Why the contract cannot be run, or nil.
        func problem(hop: Int, frames: Int, outputs: [String]) -> String? {
            if hopSamples != hop { return "'streaming.hop_samples' is \(hopSamples); the front end's hop is \(hop)" }
            if !(frames...(frames + 4096)).contains(windowSteps) || !(0..<windowSteps).contains(warmupSteps) {
                return "'streaming.window_steps' is \(windowSteps) with warm-up \(warmupSteps); expected "
                    + "\(frames)…\(frames + 4096) and a warm-up below it"
            }
            if !(1...64).contains(states.count) { return "'streaming.states' has \(states.count); expected 1…64" }
            if outputs != ["logits", "probabilities"] + states.map(\.output) {
                return "'model.outputs' is \(outputs); a streaming graph's are logits, probabilities and each "
                    + "state's '<name>.next'"
            }
            var names: Set<String> = ["logits", "probabilities", "audio", "features"]
            for s in states {
                guard !s.name.isEmpty, s.output == "\(s.name).next", names.insert(s.name).inserted,
                    names.insert(s.output).inserted
                else {
                    return "'streaming.states' names '\(s.name)' / '\(s.output)'; expected unique names, "
                        + "each with '<name>.next'"
                }
                guard (1...4).contains(s.shape.count), s.shape.allSatisfy({ (1...65536).contains($0) }),
                    s.shape.reduce(1, *) <= 1 << 22
                else {
                    return "'streaming.states' '\(s.name)' has shape \(s.shape); expected 1-4 dimensions of 1…65536"
                }
            }
            return nil
        }
    }

    public struct ModelFile: Codable, Equatable, Sendable {
        /// Always `model.onnx`, in the folder of `deploy.json`.
        public var file: String
        public var sha256: String
        public var bytes: Int
        /// SHA-256 of the serialized graph alone (weights and nodes, without the model's producer and
        /// metadata): equal graphs compute the same thing.
        public var graphSHA256: String
        public var opset: Int
        public var irVersion: Int
        /// `float32` or `int8`.
        public var precision: String
        /// `audio` ([batch, samples] float32 at `sample_rate`) or `features` ([batch, frames, coefficients]).
        public var input: String
        /// `logits`, `probabilities` and, with localisation, `attention`.
        public var outputs: [String]

        enum CodingKeys: String, CodingKey {
            case file, sha256, bytes, opset, precision, input, outputs
            case graphSHA256 = "graph_sha256", irVersion = "ir_version"
        }

        public init(
            file: String, sha256: String, bytes: Int, graphSHA256: String, opset: Int, irVersion: Int,
            precision: String, input: String, outputs: [String]
        ) {
            self.file = file
            self.sha256 = sha256
            self.bytes = bytes
            self.graphSHA256 = graphSHA256
            self.opset = opset
            self.irVersion = irVersion
            self.precision = precision
            self.input = input
            self.outputs = outputs
        }
    }

    public struct Window: Codable, Equatable, Sendable {
        public var samples: Int
        public var seconds: Double
        /// Feature frames per window.
        public var frames: Int

        public init(samples: Int, seconds: Double, frames: Int) {
            self.samples = samples
            self.seconds = seconds
            self.frames = frames
        }
    }

    public struct Features: Codable, Equatable, Sendable {
        public var preset: String
        /// The resolved front end (as a feature store's `config.json` records it).
        public var frontEnd: FrontEndConfig
        /// Coefficients per frame.
        public var coefficients: Int
        /// Whether the graph computes them from audio (`input: audio`).
        public var inGraph: Bool

        enum CodingKeys: String, CodingKey {
            case preset, coefficients
            case frontEnd = "front_end", inGraph = "in_graph"
        }

        public init(preset: String, frontEnd: FrontEndConfig, coefficients: Int, inGraph: Bool) {
            self.preset = preset
            self.frontEnd = frontEnd
            self.coefficients = coefficients
            self.inGraph = inGraph
        }
    }

    /// The sliding-window detector (`tkd detect`): the window slides by `hop_ms`; each label's probability is
    /// averaged over the last `smoothing_windows` windows; a detection fires when that average reaches
    /// `threshold` and the label's last detection is at least `cooldown_ms` earlier.
    public struct DetectorSettings: Codable, Equatable, Sendable {
        public var hopMs: Int
        public var smoothingWindows: Int
        public var cooldownMs: Int
        public var threshold: Double
        /// The labels that can fire (single-label models leave out `_silence_`, `_unknown_` and any other
        /// name starting with `_`).
        public var labels: [String]

        enum CodingKeys: String, CodingKey {
            case threshold, labels
            case hopMs = "hop_ms", smoothingWindows = "smoothing_windows", cooldownMs = "cooldown_ms"
        }

        public init(hopMs: Int, smoothingWindows: Int, cooldownMs: Int, threshold: Double, labels: [String]) {
            self.hopMs = hopMs
            self.smoothingWindows = smoothingWindows
            self.cooldownMs = cooldownMs
            self.threshold = threshold
            self.labels = labels
        }

        /// Why these settings cannot run, or nil (`labels` checked against the model's).
        public func problem(modelLabels: [String], sampleRate: Int) -> String? {
            if !(1...3_600_000).contains(hopMs) { return "'hop_ms' is \(hopMs); expected 1…3600000" }
            if (hopMs * sampleRate) % 1000 != 0 {
                return "'hop_ms' \(hopMs) is not a whole number of samples at \(sampleRate) Hz"
            }
            if !(1...10_000).contains(smoothingWindows) {
                return "'smoothing_windows' is \(smoothingWindows); expected 1…10000"
            }
            if !(0...3_600_000).contains(cooldownMs) { return "'cooldown_ms' is \(cooldownMs); expected 0…3600000" }
            if !(threshold.isFinite && threshold >= 0 && threshold <= 1) {
                return "'threshold' is \(threshold); expected 0…1"
            }
            if let bad = labels.first(where: { !modelLabels.contains($0) }) {
                return "'labels' names '\(bad)', which is not one of the model's labels"
            }
            if Set(labels).count != labels.count { return "'labels' repeats a label" }
            return nil
        }
    }

    public struct Localisation: Codable, Equatable, Sendable {
        /// The output's name (`attention`, [batch, steps]).
        public var output: String
        /// `kd_head` (the training-only head a_S of a λ > 0 run) or `own` (the model's own α, mean over heads).
        public var head: String
        public var steps: Int
        /// Each step's centre from the window's start, in seconds.
        public var stepCentresSeconds: [Double]

        enum CodingKeys: String, CodingKey {
            case output, head, steps
            case stepCentresSeconds = "step_centres_seconds"
        }

        public init(output: String, head: String, steps: Int, stepCentresSeconds: [Double]) {
            self.output = output
            self.head = head
            self.steps = steps
            self.stepCentresSeconds = stepCentresSeconds
        }
    }

    public struct Size: Codable, Equatable, Sendable {
        /// The inference model's trainable parameters (the training-only KD query not counted).
        public var trainableParameters: Int
        public var modelBytes: Int
        /// Multiply-accumulates of one window through the model (features → logits).
        public var macsPerWindow: Int
        /// … and through the in-graph front end (0 for `input: features`).
        public var frontEndMacsPerWindow: Int

        enum CodingKeys: String, CodingKey {
            case trainableParameters = "trainable_parameters", modelBytes = "model_bytes"
            case macsPerWindow = "macs_per_window", frontEndMacsPerWindow = "front_end_macs_per_window"
        }

        public init(trainableParameters: Int, modelBytes: Int, macsPerWindow: Int, frontEndMacsPerWindow: Int) {
            self.trainableParameters = trainableParameters
            self.modelBytes = modelBytes
            self.macsPerWindow = macsPerWindow
            self.frontEndMacsPerWindow = frontEndMacsPerWindow
        }
    }

    /// One split's figures, as the run's `metrics.json` has them.
    public struct Scores: Codable, Equatable, Sendable {
        public var examples: Int
        public var accuracy: Double
        /// Macro mAP (multi-label runs).
        public var meanAveragePrecision: Double?

        enum CodingKeys: String, CodingKey {
            case examples, accuracy
            case meanAveragePrecision = "mean_average_precision"
        }

        public init(examples: Int, accuracy: Double, meanAveragePrecision: Double?) {
            self.examples = examples
            self.accuracy = accuracy
            self.meanAveragePrecision = meanAveragePrecision
        }
    }

    public struct CheckpointSummary: Codable, Equatable, Sendable {
        /// The checkpoint's file name (the folder is not recorded).
        public var file: String
        /// SHA-256 of the checkpoint file: its fingerprint.
        public var sha256: String
        public var student: String
        public var step: Int
        public var datasetName: String
        public var kdLambda: Double
        public var kdTarget: String?
        /// From the run's `metrics.json`, when it is beside the checkpoint.
        public var validation: Scores?
        public var test: Scores?

        enum CodingKeys: String, CodingKey {
            case file, sha256, student, step, validation, test
            case datasetName = "dataset_name", kdLambda = "kd_lambda", kdTarget = "kd_target"
        }

        public init(
            file: String, sha256: String, student: String, step: Int, datasetName: String, kdLambda: Double,
            kdTarget: String?, validation: Scores?, test: Scores?
        ) {
            self.file = file
            self.sha256 = sha256
            self.student = student
            self.step = step
            self.datasetName = datasetName
            self.kdLambda = kdLambda
            self.kdTarget = kdTarget
            self.validation = validation
            self.test = test
        }
    }

    public struct Quantization: Codable, Equatable, Sendable {
        /// How activation ranges were found (`minmax` or `percentile-<p>`).
        public var method: String
        public var weights: String
        public var activations: String
        /// What stays float32, and why.
        public var float: [String]
        public var calibration: Calibration

        public init(method: String, weights: String, activations: String, float: [String], calibration: Calibration) {
            self.method = method
            self.weights = weights
            self.activations = activations
            self.float = float
            self.calibration = calibration
        }
    }

    public struct Calibration: Codable, Equatable, Sendable {
        public var dataset: String
        public var manifestsSHA256: String
        public var split: String
        public var examples: Int
        /// SHA-256 of the calibration examples' ids joined by newlines.
        public var idsSHA256: String

        enum CodingKeys: String, CodingKey {
            case dataset, split, examples
            case manifestsSHA256 = "manifests_sha256", idsSHA256 = "ids_sha256"
        }

        public init(dataset: String, manifestsSHA256: String, split: String, examples: Int, idsSHA256: String) {
            self.dataset = dataset
            self.manifestsSHA256 = manifestsSHA256
            self.split = split
            self.examples = examples
            self.idsSHA256 = idsSHA256
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, tool, model, task, labels, window, features, detector, localisation, size, checkpoint
        case quantization, streaming
        case sampleRate = "sample_rate"
    }

    public init(
        tool: String = "tkd \(TKDVersion.current)", model: ModelFile, task: DatasetTask, labels: [String],
        sampleRate: Int, window: Window, features: Features, detector: DetectorSettings, localisation: Localisation?,
        size: Size, checkpoint: CheckpointSummary, quantization: Quantization?, streaming: Streaming? = nil
    ) {
        self.streaming = streaming
        self.tool = tool
        self.model = model
        self.task = task
        self.labels = labels
        self.sampleRate = sampleRate
        self.window = window
        self.features = features
        self.detector = detector
        self.localisation = localisation
        self.size = size
        self.checkpoint = checkpoint
        self.quantization = quantization
    }

    /// Why the manifest cannot describe a runnable model, or nil. Checks what a reader relies on before it
    /// allocates or opens anything: the format, the model file's name (only `model.onnx`, nothing that
    /// leaves the folder), the hash's form, sizes and rates in range, labels, the window against the front
    /// end, the detector settings and the localisation steps.
    public var problem: String? {
        if format != Self.currentFormat { return "'format' is '\(format)'; expected '\(Self.currentFormat)'" }
        if model.file != Self.modelFileName { return "'model.file' is '\(model.file)'; expected 'model.onnx'" }
        if model.sha256.count != 64 || !model.sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            return "'model.sha256' is '\(model.sha256)'; expected 64 lowercase hex digits"
        }
        if !["float32", "int8"].contains(model.precision) {
            return "'model.precision' is '\(model.precision)'; expected float32 or int8"
        }
        if !["audio", "features"].contains(model.input) {
            return "'model.input' is '\(model.input)'; expected audio or features"
        }
        if !(1...10_000).contains(labels.count) || Set(labels).count != labels.count || labels.contains("") {
            return "'labels' has \(labels.count) names; expected 1…10000 unique, non-empty names"
        }
        if !(1...384_000).contains(sampleRate) { return "'sample_rate' is \(sampleRate); expected 1…384000" }
        if frontEndProblem != nil { return frontEndProblem }
        if !(1...(1 << 26)).contains(window.samples) {
            return "'window.samples' is \(window.samples); expected 1…\(1 << 26)"
        }
        let frames = features.frontEnd.frameCount(samples: window.samples)
        if window.frames != frames || frames < 1 {
            return "'window.frames' is \(window.frames); \(window.samples) samples give \(frames) frames"
        }
        if !(1...4096).contains(features.coefficients) || features.coefficients != features.frontEnd.featureCount {
            return "'features.coefficients' is \(features.coefficients); the front end gives "
                + "\(features.frontEnd.featureCount)"
        }
        if let p = detector.problem(modelLabels: labels, sampleRate: sampleRate) { return "detector: \(p)" }
        if let s = streaming {
            if let p = s.problem(hop: features.frontEnd.hopLength, frames: frames, outputs: model.outputs) { return p }
            if localisation != nil || model.precision != "float32" {
                return "a streaming graph has 'localisation' or int8 'precision'; expected neither"
            }
        }
        if let l = localisation {
            if l.steps < 1 || l.steps > frames || l.stepCentresSeconds.count != l.steps
                || !l.stepCentresSeconds.allSatisfy({ $0.isFinite })
            {
                return "'localisation.steps' is \(l.steps) with \(l.stepCentresSeconds.count) centres; expected 1…"
                    + "\(frames) steps and one finite centre each"
            }
            if !["kd_head", "own"].contains(l.head) {
                return "'localisation.head' is '\(l.head)'; expected kd_head or own"
            }
        }
        return nil
    }

    private var frontEndProblem: String? {
        let f = features.frontEnd
        if f.sampleRate != sampleRate {
            return "'features.front_end.sample_rate' is \(f.sampleRate); 'sample_rate' is \(sampleRate)"
        }
        if !(1...(1 << 20)).contains(f.frameLength) || !(1...(1 << 20)).contains(f.hopLength)
            || !(2...(1 << 20)).contains(f.fftLength) || f.frameLength > f.fftLength || f.fftLength % 2 != 0
            || !(1...4096).contains(f.mel.bands)
        {
            return "'features.front_end' has frame \(f.frameLength), hop \(f.hopLength), FFT \(f.fftLength), "
                + "\(f.mel.bands) bands; expected positive sizes with frame ≤ FFT (even), at most 2^20"
        }
        return nil
    }

    /// Reads and checks `folder/deploy.json`.
    /// - Throws: `DatasetFormatError` naming the file and the field.
    public static func load(_ folder: URL) throws -> DeployManifest {
        let url = folder.appendingPathComponent(fileName)
        let m = try read(url)
        if let p = m.problem { throw DatasetFormatError.invalidFile(path: url.path, reason: p) }
        return m
    }
}
