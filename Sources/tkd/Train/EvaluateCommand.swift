import ArgumentParser
import DatasetFormat
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
            checkpoint's feature preset and the same label map. Writes the metrics JSON to --out (default: \
            <checkpoint stem>.<split>-metrics.json next to the checkpoint).
            """)

    @Option(help: "A checkpoint .safetensors written by tkd train (best.safetensors or last.safetensors).")
    var checkpoint: String

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
                "Keys: split, ids, ids_sha256, labels, predicted, attention (own: Att-RNN's α; kd_head: the "
                + "training-only head of a run with λ > 0; each: examples, mass_in_speech, peak_in_speech, "
                + "span_share over the split's keyword examples)."))
    var details: String?

    @Flag(help: "Print the metrics JSON instead of the table.")
    var json = false

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard Split(rawValue: split) != nil else {
            throw ValidationError("--split must be training, validation or testing; got '\(split)'.")
        }
    }

    func run() throws {
        let url = URL(fileURLWithPath: checkpoint)
        let (info, file) = try Checkpoint.open(url)
        let data = try TrainingData(
            dataset: URL(fileURLWithPath: dataset), preset: info.featurePreset,
            featureCount: info.student.featureCount, student: info.student.rawValue,
            minimumFrames: info.student.minimumFrames)
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
}
