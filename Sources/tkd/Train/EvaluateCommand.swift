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

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard (checkpoint == nil) != (model == nil) else {
            throw ValidationError("give exactly one of --checkpoint CK and --model DIR.")
        }
        guard Split(rawValue: split) != nil else {
            throw ValidationError("--split must be training, validation or testing; got '\(split)'.")
        }
    }

    func run() throws {
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
}
