import Foundation
import Numerics

/// Classification metrics of one split (`metrics.json`, `tkd evaluate`).
public struct Metrics: Sendable, Equatable, Codable {
    public var split: String
    public var examples: Int
    public var accuracy: Double
    /// Mean cross-entropy.
    public var loss: Double
    public var perClass: [ClassMetrics]
    /// confusion[true][predicted] counts.
    public var confusion: [[Int]]
    /// Mean over classes with examples of the one-vs-rest average precision of the softmax scores
    /// (`MultiLabelMetrics.averagePrecision`: for single-label data it ranks examples per class).
    public var meanAveragePrecision: Double
    /// Multi-label runs (`task: multi_label`): macro/micro mAP, d′, lwlrap and per-class AP over clips. Then
    /// `examples` counts clips, `accuracy` is the share whose top class is one of theirs, `loss` the mean binary
    /// cross-entropy, `per_class` precision and recall at a sigmoid score of 0.5, `confusion` empty, and
    /// `mean_average_precision` the macro mAP.
    public var multiLabel: MultiLabelMetrics?

    /// What "best by validation" maximises: the macro mAP of a multi-label run, else accuracy.
    public var selectionScore: Double { multiLabel?.macroAveragePrecision ?? accuracy }

    public struct ClassMetrics: Sendable, Equatable, Codable {
        public var label: String
        public var support: Int
        public var precision: Double
        public var recall: Double
        public var averagePrecision: Double?

        enum CodingKeys: String, CodingKey {
            case label, support, precision, recall
            case averagePrecision = "average_precision"
        }
    }

    enum CodingKeys: String, CodingKey {
        case split, examples, accuracy, loss, confusion
        case perClass = "per_class", meanAveragePrecision = "mean_average_precision"
        case multiLabel = "multi_label"
    }

    /// A multi-label split from clip-level scores [clips, K] (averaged sigmoid outputs) and 0/1 targets; accuracy is
    /// the share of clips whose top-scoring class is one of theirs.
    public init(split: String, labels names: [String], clipScores: [Float], targets: [UInt8], loss: Double) {
        let k = names.count, n = k == 0 ? 0 : clipScores.count / k
        let ml = MultiLabelMetrics(split: split, labels: names, scores: clipScores, targets: targets)
        self.split = split
        examples = n
        var correct = 0
        for i in 0..<n {
            var best = 0
            for c in 1..<max(k, 1) where clipScores[i * k + c] > clipScores[i * k + best] { best = c }
            if targets[i * k + best] != 0 { correct += 1 }
        }
        accuracy = n > 0 ? Double(correct) / Double(n) : 0
        self.loss = loss
        confusion = []
        perClass = (0..<k).map { c in
            var tp = 0, predicted = 0, support = 0
            for i in 0..<n {
                let positive = targets[i * k + c] != 0, said = clipScores[i * k + c] >= 0.5
                if positive { support += 1 }
                if said { predicted += 1 }
                if positive && said { tp += 1 }
            }
            return ClassMetrics(
                label: names[c], support: support, precision: predicted > 0 ? Double(tp) / Double(predicted) : 0,
                recall: support > 0 ? Double(tp) / Double(support) : 0,
                averagePrecision: ml.perClass[c].averagePrecision)
        }
        meanAveragePrecision = ml.macroAveragePrecision
        multiLabel = ml
    }

    /// Softmax scores [rows, K] of logits and the summed cross-entropy against `truth` (one label per row):
    /// what `init(split:labels:scores:truth:loss:)` takes, accumulated batch by batch.
    public static func scores(logits: [Float], classes k: Int, truth: [Int]) -> (scores: [Float], lossSum: Double) {
        var p = [Float](repeating: 0, count: logits.count)
        Softmax.forward(logits, rows: truth.count, width: k, into: &p)
        var loss = 0.0
        for (i, y) in truth.enumerated() { loss -= log(max(Double(p[i * k + y]), 1e-30)) }
        return (p, loss)
    }

    /// From softmax scores [N, K] (row-major) and true labels.
    public init(split: String, labels names: [String], scores: [Float], truth: [Int], loss: Double) {
        let k = names.count, n = truth.count
        precondition(scores.count == n * k)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var correct = 0
        for i in 0..<n {
            var best = 0
            for j in 1..<k where scores[i * k + j] > scores[i * k + best] { best = j }
            confusion[truth[i]][best] += 1
            if best == truth[i] { correct += 1 }
        }
        var perClass: [ClassMetrics] = []
        var aps: [Double] = []
        for c in 0..<k {
            let tp = confusion[c][c]
            let predicted = (0..<k).reduce(0) { $0 + confusion[$1][c] }
            let support = confusion[c].reduce(0, +)
            var ap: Double?
            if support > 0 {
                ap = MultiLabelMetrics.averagePrecision(
                    scores: (0..<n).map { scores[$0 * k + c] }, truth: truth.map { $0 == c })
                aps.append(ap!)
            }
            perClass.append(
                ClassMetrics(
                    label: names[c], support: support,
                    precision: predicted > 0 ? Double(tp) / Double(predicted) : 0,
                    recall: support > 0 ? Double(tp) / Double(support) : 0, averagePrecision: ap))
        }
        self.split = split
        examples = n
        accuracy = n > 0 ? Double(correct) / Double(n) : 0
        self.loss = loss
        self.perClass = perClass
        self.confusion = confusion
        meanAveragePrecision = aps.isEmpty ? 0 : aps.reduce(0, +) / Double(aps.count)
    }

    /// The one-line result of a run: validation and test accuracy (and test mAP), or for a multi-label run the
    /// validation and test macro mAP with the test's d′ and lwlrap.
    public static func headline(validation v: Metrics, test t: Metrics) -> String {
        if let tv = t.multiLabel {
            return String(
                format: "validation mAP %.4f, test mAP %.4f (test d′ %.3f, lwlrap %.4f, %d clips)",
                v.meanAveragePrecision, tv.macroAveragePrecision, tv.dPrime ?? .infinity, tv.lwlrap, t.examples)
        }
        return String(
            format: "validation accuracy %.2f %%, test accuracy %.2f %% (test mAP %.4f)", 100 * v.accuracy,
            100 * t.accuracy, t.meanAveragePrecision)
    }

    /// A readable table: accuracy, mAP, then one row per class.
    public var report: String {
        var lines =
            multiLabel.map { m in
                [
                    String(
                        format: "%@: %d clips, mAP %.4f (micro %.4f), d′ %.3f, lwlrap %.4f, top-1 in labels %.2f %%, "
                            + "BCE %.4f",
                        split, examples, m.macroAveragePrecision, m.microAveragePrecision, m.dPrime ?? .infinity,
                        m.lwlrap,
                        100 * accuracy, loss)
                ]
            } ?? [
                String(
                    format: "%@: %d examples, accuracy %.2f %%, mAP %.4f, loss %.4f",
                    split, examples, 100 * accuracy, meanAveragePrecision, loss)
            ]
        let width = max(5, perClass.map(\.label.count).max() ?? 5)
        lines.append(
            "  " + "class".padding(toLength: width, withPad: " ", startingAt: 0) + "  support  precision  recall")
        for c in perClass {
            lines.append(
                "  " + c.label.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(format: "  %7d  %9.4f  %6.4f", c.support, c.precision, c.recall))
        }
        return lines.joined(separator: "\n")
    }
}
