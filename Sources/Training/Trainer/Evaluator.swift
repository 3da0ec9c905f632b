import DatasetFormat
import Foundation
import TrainingLoop

/// Runs a student over one split in inference mode (the KD head is not involved) and scores it: accuracy and
/// softmax metrics, or on a multi-label dataset the clip-level mAP, d′ and lwlrap (`MultiLabelTask.metrics`), as
/// the training run scored it.
public enum Evaluator {
    public static func evaluate(
        _ model: StudentModel, data: TrainingData, split: Split, batchSize: Int = 100,
        jobs: Int = 1, chunk: Int = 25
    ) throws -> Metrics {
        let ids = data.splits[split] ?? []
        if let ml = MultiLabelTask(info: data.info, records: ids.map { data.records[$0]! }) {
            return try Evaluation.metrics(
                model, task: ml, split: split, ids: ids, labels: data.labels, batchSize: batchSize, jobs: jobs,
                chunk: chunk, input: data.batch)
        }
        return try Evaluation.metrics(
            model, split: split, ids: data.splits[split] ?? [], labels: data.labels, batchSize: batchSize,
            jobs: jobs, chunk: chunk
        ) { ids in
            (try data.batch(ids), ids.map { data.records[$0]!.labelIndex })
        }
    }
}
