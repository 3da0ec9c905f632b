import ArgumentParser
import DatasetFormat
import Deploy
import Foundation
import TKDCore
import Training

/// `tkd evaluate --checkpoint CK --dataset D [--split testing] [--json] [--out F]`
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a checkpoint on a dataset split: accuracy, per-class precision/recall, confusion matrix, mAP.",
        discussion: """
            Uses the inference model only (the training-only KD query is ignored). The dataset must carry the \
            checkpoint's feature preset and the same label map; only the split scored needs examples (a dataset \
            of test recordings alone will do). Writes the metrics JSON to --out (default: \
            <checkpoint stem>.<split>-metrics.json next to the checkpoint, or <split>-metrics.json in the export \
            folder). With --model, an exported graph scores the split: an audio model reads the rendered audio, \
            a features model the feature store.
            """)

    @Option(help: "A checkpoint .safetensors written by tkd train (best.safetensors or last.safetensors).")
    var checkpoint: String?

    @Option(help: "An export folder (tkd export) instead of a checkpoint: its graph scores the split (tkd's runner).")
    var model: String?

    @Option(help: "The dataset folder.")
    var dataset: String

    @Option(help: "training, validation or testing.")
    var split: String = "testing"

    @Option(help: "Where to write the metrics JSON.")
    var out: String?

    @Option(
        help: ArgumentHelp(
            "Also write per-example predictions and the attention's localisation to this JSON file.",
            discussion:
                "Keys: split, ids, ids_sha256, labels, predicted, probabilities (per example, softmax or sigmoid), "
                + "attention (own: Att-RNN's α; kd_head: the "
                + "training-only head of a run with λ > 0; each: examples, mass_in_speech, peak_in_speech, "
                + "span_share over the split's keyword examples)."))
    var details: String?

    @Flag(help: "Print the metrics JSON instead of the table.")
    var json = false

    @Flag(
        help: ArgumentHelp(
            "Run the model as a detector over every stream of a stream dataset's split (kind: stream).",
            discussion:
                "Writes stream-metrics.json (--out; default <checkpoint stem>.<split>-stream-metrics.json, or "
                + "<split>-stream-metrics.json in the export folder): FRR and FA/hr over the threshold sweep (the DET "
                + "curve), FRR at 0.5 and 1 FA/hr, the area to 2 FA/hr, detection latency and the attention's "
                + "localisation, per label and pooled."))
    var stream = false

    @Option(
        help: ArgumentHelp(
            "With --stream: a detection is a hit up to this long after its target's one-second window ends.",
            discussion: "Default: the model's window less 1 s, plus (smoothing − 1) hops."))
    var toleranceMs: Int?

    @Option(help: "With --stream: the step of the threshold sweep over [0, 1].")
    var sweepStep: Double = 0.01

    @Option(help: "With --stream: windows scored together.")
    var batch: Int = 16

    @OptionGroup(title: "Detector settings (with --stream)") var detector: DetectorOptions

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard (checkpoint == nil) != (model == nil) else {
            throw ValidationError("give exactly one of --checkpoint CK and --model DIR.")
        }
        guard Split(rawValue: split) != nil else {
            throw ValidationError("--split must be training, validation or testing; got '\(split)'.")
        }
        if let toleranceMs, toleranceMs < 0 {
            throw ValidationError("--tolerance-ms must be ≥ 0; got \(toleranceMs).")
        }
        guard sweepStep > 0 && sweepStep <= 1 else {
            throw ValidationError("--sweep-step must be in (0, 1] (a sweep over [0, 1]); got \(sweepStep).")
        }
        guard batch >= 1 else { throw ValidationError("--batch must be positive; got \(batch).") }
        let detectorSet =
            detector.hopMs != nil || detector.threshold != nil || detector.smoothing != nil
            || detector.cooldownMs != nil || detector.labels != nil || detector.resetEvery != 0
        if !stream && (detectorSet || toleranceMs != nil) {
            throw ValidationError("detector settings and --tolerance-ms apply only with --stream.")
        }
        if stream && details != nil { throw ValidationError("--details does not apply with --stream.") }
    }

    func run() throws {
        if stream {
            try runStream()
            return
        }
        if let model {
            try runExported(URL(fileURLWithPath: model))
            return
        }
        let url = URL(fileURLWithPath: checkpoint!)
        let (info, file) = try Checkpoint.open(url)
        let data = try TrainingData(
            dataset: URL(fileURLWithPath: dataset), preset: info.featurePreset,
            featureCount: info.student.featureCount, student: info.student.rawValue,
            minimumFrames: info.student.minimumFrames, required: [Split(rawValue: split)!])
        guard data.labels == info.labels else {
            throw TrainingError.checkpoint(
                path: url.path,
                reason:
                    "label map \(info.labels.joined(separator: ",")) differs from the dataset's "
                    + "\(data.labels.joined(separator: ","))"
            )
        }
        let model = try Checkpoint.model(from: info, file: file, includeTrainingOnly: false)
        let metrics = try Evaluator.evaluate(
            model, data: data, split: Split(rawValue: split)!, batchSize: 100,
            jobs: options.jobs, chunk: info.config.chunk)
        let target =
            out.map { URL(fileURLWithPath: $0) }
            ?? url.deletingPathExtension().appendingPathExtension("\(split)-metrics.json")
        let encoded = try CanonicalJSON.encodePretty(metrics)
        try AtomicFile.write(encoded, to: target)
        if let details {
            let full = try Checkpoint.model(from: info, file: file, includeTrainingOnly: true)
            let d = try Evaluator.details(
                full, info: info.details, data: data, split: Split(rawValue: split)!, jobs: options.jobs)
            try AtomicFile.write(try CanonicalJSON.encodePretty(d), to: URL(fileURLWithPath: details))
        }
        if json {
            say(String(decoding: encoded, as: UTF8.self))
        } else {
            say("\(info.student.rawValue) step \(info.step) on \(data.info.name) (\(info.featurePreset))")
            say(metrics.report)
            say("metrics: \(target.path)")
        }
    }

    /// `--model`: the exported graph over the split.
    func runExported(_ folder: URL) throws {
        let exported = try ExportedModel(folder)
        let (metrics, d) = try exported.evaluate(dataset: URL(fileURLWithPath: dataset), split: Split(rawValue: split)!)
        let target = out.map { URL(fileURLWithPath: $0) } ?? folder.appendingPathComponent("\(split)-metrics.json")
        let encoded = try CanonicalJSON.encodePretty(metrics)
        try AtomicFile.write(encoded, to: target)
        if let details { try AtomicFile.write(try CanonicalJSON.encodePretty(d), to: URL(fileURLWithPath: details)) }
        if json {
            say(String(decoding: encoded, as: UTF8.self))
        } else {
            let m = exported.manifest
            say("\(m.checkpoint.student) \(m.model.precision) export (\(m.model.input) input) on \(split)")
            say(metrics.report)
            say("metrics: \(target.path)")
        }
    }

    /// `--stream`: the model as a detector over the split's streams.
    func runStream() throws {
        let scorer: WindowScoring, base: DeployManifest.DetectorSettings, name: String, target: URL
        let splitValue = Split(rawValue: split)!
        if let model {
            let exported = try ExportedModel(URL(fileURLWithPath: model))
            scorer = exported
            base = exported.manifest.detector
            name = "\(exported.manifest.checkpoint.student) \(exported.manifest.model.precision) export \(model)"
            target =
                out.map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: model).appendingPathComponent("\(split)-stream-metrics.json")
        } else {
            let url = URL(fileURLWithPath: checkpoint!)
            let ck = try DeployableCheckpoint(url, dataset: nil)
            scorer = CheckpointScorer(ck, jobs: options.jobs)
            base = Detector.recommended(for: ck.facts)
            name = "checkpoint \(url.path)"
            target =
                out.map { URL(fileURLWithPath: $0) }
                ?? url.deletingPathExtension().appendingPathExtension("\(split)-stream-metrics.json")
        }
        let settings = detector.applied(to: base)
        let tolerance =
            toleranceMs
            ?? StreamEvaluator.defaultToleranceMs(
                windowSamples: scorer.windowSamples, sampleRate: scorer.sampleRate, settings: settings)
        let evaluator = try StreamEvaluator(
            scorer: scorer, settings: settings, toleranceMs: tolerance,
            thresholds: StreamEvaluator.sweep(step: sweepStep),
            batch: batch, stateResetWindows: detector.resetEvery)
        let reporter = ProgressReporter(label: "streams", total: nil, mode: options.progressMode)
        let metrics = try evaluator.evaluate(
            dataset: URL(fileURLWithPath: dataset), split: splitValue, modelName: name,
            progress: { _, _ in reporter.advance() })
        reporter.finish()
        let encoded = try CanonicalJSON.encodePretty(metrics)
        try AtomicFile.write(encoded, to: target)
        if json {
            say(String(decoding: encoded, as: UTF8.self))
            return
        }
        say(
            "\(name) on \(split): \(metrics.streams) streams, "
                + String(format: "%.2f h (%.2f h negative), ", metrics.hours, metrics.negativeHours)
                + "\(metrics.pooled.targets) targets, tolerance \(tolerance) ms")
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }
        var rows = [["label", "targets", "FRR @0.5 FA/h", "FRR @1 FA/h", "AUC to 2 FA/h"]]
        for (label, c) in [("(pooled)", metrics.pooled)]
            + metrics.detector.labels.compactMap({ l in
                metrics.perLabel[l].map { (l, $0) }
            })
        {
            rows.append([
                label, String(c.targets), pct(c.frrAt05FAPerHour), pct(c.frrAt1FAPerHour),
                c.aucTo2FAPerHour.map { String(format: "%.3f", $0) } ?? "–",
            ])
        }
        say(CorpusIndexTable.table(rows))
        let h = metrics.hitsAtThreshold
        say(
            "at threshold \(h.threshold): \(h.hits) hits, latency median "
                + (h.latencyMedianSeconds.map { String(format: "%.2f s", $0) } ?? "–") + ", p90 "
                + (h.latencyP90Seconds.map { String(format: "%.2f s", $0) } ?? "–")
                + (h.peakInSpan.map {
                    ", attention peak in the speech span " + pct($0) + " (uniform "
                        + pct(h.uniformPeakInSpan) + ")"
                } ?? ""))
        say("metrics: \(target.path)")
    }
}
