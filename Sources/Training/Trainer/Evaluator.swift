import DatasetFormat
import Foundation
import TrainingLoop

/// Runs a student over one split in inference mode (the KD head is not involved) and scores it.
public enum Evaluator {
    public static func evaluate(
        _ model: StudentModel, data: TrainingData, split: Split, batchSize: Int = 100,
        jobs: Int = 1, chunk: Int = 25
    ) throws -> Metrics {
        try Evaluation.metrics(
            model, split: split, ids: data.splits[split] ?? [], labels: data.labels, batchSize: batchSize,
            jobs: jobs, chunk: chunk
        ) { ids in
            (try data.batch(ids), ids.map { data.records[$0]!.labelIndex })
        }
    }
}
