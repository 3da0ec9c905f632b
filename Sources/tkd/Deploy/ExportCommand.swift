import ArgumentParser
import DatasetFormat
import Deploy
import Foundation
import TKDCore

extension ExportOptions.Input: ExpressibleByArgument {}
extension ExportOptions.Precision: ExpressibleByArgument {}
extension ExportOptions.Graph: ExpressibleByArgument {}

/// `tkd export --checkpoint CK --out DIR [--input audio|features] [--precision float32|int8 --calibration D]
/// [--with-localisation] [--graph window|streaming]`
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a student checkpoint to ONNX (audio in, scores out) with its deploy.json.",
        discussion: """
            Writes DIR/model.onnx (ai.onnx opset 17; input 'audio' float32 [batch, samples] at the checkpoint's \
            rate, the feature preset computed inside the graph; outputs 'logits' and 'probabilities', softmax or \
            sigmoid for multi-label; batch norm folded; dropout, SpecAugment and the KD head left out) and \
            DIR/deploy.json (labels, rate, window, front end, detector settings, sizes, the checkpoint's \
            fingerprint and metrics, the int8 calibration). Before writing, tkd decodes the bytes again, runs \
            them on a probe batch and compares with the checkpoint. DIR must be empty or an earlier export. \
            --graph streaming (LSTM-P and CRNN): one hop of audio (or one frame of features) and named state \
            tensors in, the scores and the next states out; reset to zeros and fed a window's hops it gives the \
            window graph's scores. \
            The graph, int8 and every deploy.json field: Docs/deploying.md.
            """)

    @Option(help: "A student checkpoint written by tkd train (or tkd model init).")
    var checkpoint: String

    @Option(help: "The folder to write model.onnx and deploy.json into.")
    var out: String

    @Option(help: "audio: the graph computes the features; features: it reads [batch, frames, coefficients].")
    var input: ExportOptions.Input = .audio

    @Option(help: "window: one window in; streaming: one hop and the states in (lstm-p, crnn; float32).")
    var graph: ExportOptions.Graph = .window

    @Option(help: "float32, or int8 (post-training static QDQ; needs --calibration).")
    var precision: ExportOptions.Precision = .float32

    @Option(help: "int8: a dataset with the checkpoint's labels and feature store; its training split calibrates.")
    var calibration: String?

    @Option(help: "int8: at most this many calibration examples (evenly spaced over the training split).")
    var calibrationExamples: Int = 512

    @Flag(help: "Keep the KD head of a λ > 0 run as a third output, 'attention' [batch, steps].")
    var withLocalisation = false

    @Option(
        help: "The dataset the checkpoint was trained on (only for checkpoints that predate their deployment keys).")
    var dataset: String?

    @OptionGroup(title: "Detector settings recorded in deploy.json") var detector: DetectorOptions

    @Flag(help: "Print deploy.json instead of the summary.")
    var json = false

    func validate() throws {
        if detector.resetEvery != 0 {
            throw ValidationError(
                "--reset-every is chosen when a streaming export runs (tkd detect, tkd evaluate --stream); "
                    + "deploy.json does not record it.")
        }
        if precision == .int8 && calibration == nil {
            throw ValidationError("--precision int8 needs --calibration DATASET (its training split sets the ranges).")
        }
        if precision == .float32 && calibration != nil {
            throw ValidationError("--calibration applies to --precision int8 only.")
        }
        guard calibrationExamples >= 1 else {
            throw ValidationError("--calibration-examples must be positive; got \(calibrationExamples).")
        }
    }

    func run() throws {
        var options = ExportOptions()
        options.input = input
        options.precision = precision
        options.graph = graph
        options.withLocalisation = withLocalisation
        options.calibration = calibration.map { URL(fileURLWithPath: $0) }
        options.calibrationExamples = calibrationExamples
        options.dataset = dataset.map { URL(fileURLWithPath: $0) }
        let overrides = detector
        options.detector = { overrides.applied(to: $0) }
        let r = try Exporter.export(
            checkpoint: URL(fileURLWithPath: checkpoint), options: options, to: URL(fileURLWithPath: out))
        let m = r.manifest
        if json {
            say(String(decoding: try CanonicalJSON.encodePretty(m), as: UTF8.self))
            return
        }
        let mb = Double(m.size.modelBytes) / 1_048_576
        var shape =
            m.model.input == "audio" ? String(m.window.samples) : "\(m.window.frames), \(m.features.coefficients)"
        if let st = m.streaming {
            shape = m.model.input == "audio" ? String(st.hopSamples) : String(m.features.coefficients)
        }
        say(
            "\(m.checkpoint.student) → \(r.modelURL.path): \(m.model.precision), input \(m.model.input) "
                + "[batch, \(shape)], "
                + "outputs \(m.model.outputs.joined(separator: ", ")); opset \(m.model.opset), "
                + String(format: "%.2f MB", mb))
        say(
            "\(m.size.trainableParameters) parameters, \(m.size.macsPerWindow) MACs per window (front end "
                + "\(m.size.frontEndMacsPerWindow)); probe check: max |Δp| \(r.selfCheckError) against the checkpoint")
        if let st = m.streaming {
            let states = st.states.map { "\($0.name) \($0.shape)" }.joined(separator: ", ")
            say(
                "streaming: \(st.states.count) states (\(states)), "
                    + "warm-up \(st.warmupSteps) calls, a window is \(st.windowSteps) calls")
        }
        let d = m.detector
        say(
            "detector: hop \(d.hopMs) ms, smoothing \(d.smoothingWindows) windows, cooldown \(d.cooldownMs) ms, "
                + "threshold \(d.threshold), labels \(d.labels.joined(separator: ","))")
        if let q = m.quantization {
            say(
                "int8 (\(q.method)) calibrated on \(q.calibration.examples) training examples of "
                    + q.calibration.dataset
            )
        }
    }
}
