import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import Training
import TrainingLoop

extension ExportedModel {
    /// Scores one split of a dataset with the exported graph (`tkd evaluate --model`): each example's rendered
    /// audio for an `audio` model, or its stored features for a `features` model; the metrics `tkd evaluate`
    /// writes, and the per-example predictions and probabilities of `--details`.
    /// - Throws: `DeployError.input` when the dataset does not fit the model (labels, rate, window, audio).
    public func evaluate(
        dataset: URL, split: Split, batchSize: Int = 32
    ) throws -> (
        metrics: Metrics, details: EvaluationDetails
    ) {
        let m = manifest
        let info = try DatasetInfo.load(dataset)
        guard info.labels == m.labels else {
            throw DeployError.input(
                path: dataset.path,
                reason: "labels \(info.labels.joined(separator: ",")) differ from the model's "
                    + "\(m.labels.joined(separator: ",")); expected the same label map")
        }
        let layout = DatasetLayout(dataset)
        var records: [ExampleRecord]
        var features: TrainingData?
        if m.model.input == "features" {
            let data = try TrainingData(
                dataset: dataset, preset: m.features.preset, featureCount: m.features.coefficients,
                required: [split])
            guard data.frames == m.window.frames else {
                throw DeployError.input(
                    path: dataset.path,
                    reason: "examples have \(data.frames) frames; the model reads \(m.window.frames)")
            }
            features = data
            records = (data.splits[split] ?? []).map { data.records[$0]! }
        } else {
            records = try DatasetInfo.loadManifests(dataset).filter { $0.split == split }.sorted { $0.id < $1.id }
        }
        guard !records.isEmpty else {
            throw DeployError.input(path: layout.manifest(split).path, reason: "the \(split.rawValue) split is empty")
        }
        let k = m.labels.count
        var logits = [Float](), probabilities: [[Float]] = []
        for start in stride(from: 0, to: records.count, by: batchSize) {
            let group = Array(records[start..<min(records.count, start + batchSize)])
            let out: (logits: [Float], probabilities: [Float], attention: [Float]?)
            if let features {
                let x = try features.batch(group.map(\.id))
                out = try outputs(TensorValue(shape: x.shape, floats: x.data))
            } else {
                let windows = try group.map { r -> [Float] in
                    let url = try layout.audio(r)
                    let audio = try AudioReader.read(
                        url, options: AudioReadOptions(sampleRate: m.sampleRate, allowResample: false))
                    guard audio.samples.count == m.window.samples else {
                        throw DeployError.input(
                            path: url.path,
                            reason: "\(audio.samples.count) samples; the model's window is \(m.window.samples)")
                    }
                    return audio.samples
                }
                out = try outputs(windows)
            }
            logits += out.logits
            for i in 0..<group.count { probabilities.append(Array(out.probabilities[(i * k)..<((i + 1) * k)])) }
        }
        let ids = records.map(\.id)
        let truth = records.map(\.labelIndex)
        let metrics: Metrics
        if let task = MultiLabelTask(info: info, records: records) {
            metrics = task.metrics(split: split.rawValue, labels: m.labels, ids: ids, logits: logits)
        } else {
            let s = Metrics.scores(logits: logits, classes: k, truth: truth)
            metrics = Metrics(
                split: split.rawValue, labels: m.labels, scores: s.scores, truth: truth,
                loss: s.lossSum / Double(ids.count))
        }
        let predicted = probabilities.map { row in row.indices.max { row[$0] < row[$1] }! }
        let details = EvaluationDetails(
            split: split.rawValue, ids: ids, idsSHA256: EvaluationDetails.idsSHA256(ids), labels: truth,
            predicted: predicted, probabilities: probabilities, attention: [:])
        return (metrics, details)
    }
}
