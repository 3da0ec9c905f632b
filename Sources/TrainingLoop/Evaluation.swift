import DatasetFormat
import Foundation
import Layers

/// Runs a model over examples in inference mode (no distillation head) and scores it.
public enum Evaluation {
    /// Metrics of `ids` (one split), in batches of `batchSize`; `input` gives a batch's features and labels.
    public static func metrics<M: TrainableModel>(
        _ model: M, split: Split, ids: [String], labels: [String], batchSize: Int,
        jobs: Int, chunk: Int,
        input: ([String]) throws -> (input: Tensor, labels: [Int])
    ) throws -> Metrics {
        let k = labels.count
        var scores = [Float](), truth = [Int]()
        scores.reserveCapacity(ids.count * k)
        var loss = 0.0
        let run = RunContext(mode: .inference, jobs: jobs, chunkSize: chunk)
        for start in stride(from: 0, to: ids.count, by: batchSize) {
            let group = Array(ids[start..<min(ids.count, start + batchSize)])
            let batch = try input(group)
            let out = try model.forward(batch.input, run)
            let s = Metrics.scores(logits: out.logits.data, classes: k, truth: batch.labels)
            truth += batch.labels
            loss += s.lossSum
            scores += s.scores
        }
        return Metrics(
            split: split.rawValue, labels: labels, scores: scores, truth: truth,
            loss: ids.isEmpty ? 0 : loss / Double(ids.count))
    }

    /// Multi-label metrics of `ids` (one split): the logits in inference mode, scored per clip by `task`.
    public static func metrics<M: TrainableModel>(
        _ model: M, task: MultiLabelTask, split: Split, ids: [String], labels: [String], batchSize: Int,
        jobs: Int, chunk: Int, input: ([String]) throws -> Tensor
    ) throws -> Metrics {
        let z = try logits(
            model, ids: ids, classes: task.classes, batchSize: batchSize, jobs: jobs, chunk: chunk, input: input)
        return task.metrics(split: split.rawValue, labels: labels, ids: ids, logits: z)
    }

    /// The logits [ids.count, classes] of `ids` in inference mode, in batches of `batchSize`.
    public static func logits<M: TrainableModel>(
        _ model: M, ids: [String], classes: Int, batchSize: Int, jobs: Int, chunk: Int,
        input: ([String]) throws -> Tensor
    ) throws -> [Float] {
        var out = [Float]()
        out.reserveCapacity(ids.count * classes)
        let run = RunContext(mode: .inference, jobs: jobs, chunkSize: chunk)
        for start in stride(from: 0, to: ids.count, by: batchSize) {
            let group = Array(ids[start..<min(ids.count, start + batchSize)])
            out += try model.forward(try input(group), run).logits.data
        }
        return out
    }
}
