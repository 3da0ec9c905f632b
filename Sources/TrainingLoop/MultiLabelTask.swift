import DatasetFormat
import Foundation
import Layers
import Numerics
import TKDCore

/// A multi-label dataset's labels as the loop uses them (`task: multi_label`): each example's label set, the
/// 0/1 target rows of a batch for the sigmoid + binary cross-entropy head, and the clip each example belongs
/// to — examples of one clip (1-s patches) are scored together, their sigmoid scores averaged (the FSD50K
/// baseline's clip-level aggregation).
public struct MultiLabelTask: Sendable {
    public let classes: Int
    /// id → label indices.
    public let labelSets: [String: [Int]]
    /// id → clip id (the example's own id when it has no `clip`).
    public let clipOf: [String: String]

    public init(records: [ExampleRecord], classes: Int) {
        self.classes = classes
        var sets: [String: [Int]] = [:], clips: [String: String] = [:]
        for r in records {
            sets[r.id] = r.allLabelIndices
            clips[r.id] = r.clip?.id ?? r.id
        }
        labelSets = sets
        clipOf = clips
    }

    /// The dataset's multi-label view, or nil for a single-label dataset.
    public init?(info: DatasetInfo, records: [ExampleRecord]) {
        guard info.isMultiLabel else { return nil }
        self.init(records: records, classes: info.labels.count)
    }

    /// Each class's log prior odds log(p / (1 − p)) among `ids` (p clamped to [1/(2n), 1 − 1/(2n)]): the start of a
    /// sigmoid head's biases, so that the first steps do not spend the whole gradient pushing every logit down to the
    /// classes' rarity — with zero biases a from-scratch teacher learned the priors and nothing else (stand-in:
    /// validation mAP at chance after 800 steps; with this start it learns).
    public func priorLogOdds(_ ids: [String]) -> [Float] {
        var counts = [Double](repeating: 0, count: classes)
        for id in ids { for c in labelSets[id] ?? [] { counts[c] += 1 } }
        let n = Double(max(ids.count, 1)), lo = 1 / (2 * n)
        return counts.map { c in
            let p = min(max(c / n, lo), 1 - lo)
            return Float(log(p / (1 - p)))
        }
    }

    /// Target rows [ids.count, classes]: 1 for each of an example's labels.
    public func targets(_ ids: [String]) -> [Float] {
        var y = [Float](repeating: 0, count: ids.count * classes)
        for (i, id) in ids.enumerated() { for c in labelSets[id] ?? [] { y[i * classes + c] = 1 } }
        return y
    }

    /// Metrics of a split from logits [ids.count, classes]: per-example sigmoid scores averaged per clip (clips
    /// in order of first appearance), then `MultiLabelMetrics` on the clips; `accuracy` is the share of clips
    /// whose top-scoring class is one of theirs; `loss` the mean binary cross-entropy of the examples.
    public func metrics(split: String, labels: [String], ids: [String], logits: [Float]) -> Metrics {
        let k = classes
        precondition(logits.count == ids.count * k)
        let bce = ids.isEmpty ? 0 : BinaryCrossEntropy.withLogits(logits, targets: targets(ids)).loss
        // Per clip, in order of first appearance: the summed sigmoid scores, the examples, the label set (the
        // first example's: every example of a clip carries the clip's labels).
        var order: [String] = [], rows: [String: (sum: [Double], n: Int, labels: [Int])] = [:]
        for (i, id) in ids.enumerated() {
            let clip = clipOf[id] ?? id
            if rows[clip] == nil {
                order.append(clip)
                rows[clip] = ([Double](repeating: 0, count: k), 0, labelSets[id] ?? [])
            }
            for c in 0..<k { rows[clip]!.sum[c] += 1 / (1 + exp(-Double(logits[i * k + c]))) }
            rows[clip]!.n += 1
        }
        var scores = [Float](), truth = [UInt8](repeating: 0, count: order.count * k)
        scores.reserveCapacity(order.count * k)
        for (j, clip) in order.enumerated() {
            let row = rows[clip]!
            scores += row.sum.map { Float($0 / Double(row.n)) }
            for c in row.labels { truth[j * k + c] = 1 }
        }
        return Metrics(split: split, labels: labels, clipScores: scores, targets: truth, loss: bce)
    }
}

/// Class-balanced minibatches (`sampling: class_balanced`): each of the batch's slots at step `step` draws a class
/// uniformly among those with training examples, then an example of that class uniformly, from a stream keyed by
/// (seed, step, slot) — any step's batch is known without replaying. Multi-label examples belong to each of their
/// classes.
public struct ClassBalancedSampler: Sendable {
    let members: [[String]]

    public init(ids: [String], labelSets: (String) -> [Int]) {
        var byClass: [Int: [String]] = [:]
        for id in ids { for c in labelSets(id) { byClass[c, default: []].append(id) } }
        members = byClass.keys.sorted().map { byClass[$0]! }
    }

    public func batch(batchSize: Int, seed: UInt64, step: Int) -> [String] {
        (0..<batchSize).map { slot in
            var rng = CounterRNG(seed: seed, key: ["train", "class-balanced", String(step), String(slot)])
            let m = members[rng.uniformInt(0..<members.count)]
            return m[rng.uniformInt(0..<m.count)]
        }
    }
}

/// How training minibatches are drawn (`sampling` in a train or teacher config).
public enum Sampling: String, Sendable, Codable, CaseIterable, ChoiceOption {
    /// Every example once per epoch, in a seeded shuffle (`EpochShuffle`).
    case shuffle
    /// Classes drawn uniformly, then an example of the class (`MultiLabelTask.classBalancedBatch`).
    case classBalanced = "class_balanced"
}
