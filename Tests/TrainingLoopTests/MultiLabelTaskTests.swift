import DatasetFormat
import Foundation
import Testing

@testable import TrainingLoop

/// Issue 16, point 3: clip-level scoring of a multi-label run (patch scores averaged per clip, as the FSD50K
/// baseline does) and class-balanced sampling.
@Suite("Multi-label task")
struct MultiLabelTaskTests {
    static func record(_ id: String, clip: String, labels: [Int], split: Split = .validation) -> ExampleRecord {
        let names = labels.map { "c\($0)" }
        return ExampleRecord(
            id: id, split: split, label: names[0], labelIndex: labels[0], sampleRate: 16000, numSamples: 16000,
            audio: "audio/\(id).wav", audioSHA256: "", keyword: nil, noise: [], snrDB: nil, snrDBAchieved: nil,
            snrDefinition: nil, scale: 1, labels: names, labelIndices: labels,
            clip: ClipExcerpt(
                id: clip, source: "x/\(clip).wav", sourceSHA256: "", sourceSampleRate: 44100,
                sourceNumSamples: 44100, clipNumSamples: 16000, startSample: 0, numSamples: 16000, patch: 0,
                patches: 1))
    }

    @Test("patch sigmoid scores are averaged per clip, then mAP/lwlrap on clips; targets mark every label")
    func clipAggregation() {
        // Clip a: 2 patches, labels {0, 2}; clip b: 1 patch, {1}; clip c: 3 patches, {2}.
        let records = [
            Self.record("a0", clip: "a", labels: [0, 2]), Self.record("a1", clip: "a", labels: [0, 2]),
            Self.record("b0", clip: "b", labels: [1]), Self.record("c0", clip: "c", labels: [2]),
            Self.record("c1", clip: "c", labels: [2]), Self.record("c2", clip: "c", labels: [2]),
        ]
        let task = MultiLabelTask(records: records, classes: 3)
        #expect(task.targets(["a1", "b0"]) == [1, 0, 1, 0, 1, 0])
        let ids = records.map(\.id)
        let logits: [Float] = [
            2, -1, 0.5, -3, 0, 1,  // a0, a1
            -2, 0.3, -1,  // b0
            1.5, -2, 0, -1, -1, 2, 0, 0, 0.2,  // c0, c1, c2
        ]
        let m = task.metrics(split: "validation", labels: ["c0", "c1", "c2"], ids: ids, logits: logits)
        func sigmoid(_ z: Float) -> Double { 1 / (1 + exp(-Double(z))) }
        func mean(_ rows: [Int], _ c: Int) -> Float {
            Float(rows.map { sigmoid(logits[$0 * 3 + c]) }.reduce(0, +) / Double(rows.count))
        }
        let clipScores = [[0, 1], [2], [3, 4, 5]].flatMap { rows in (0..<3).map { mean(rows, $0) } }
        let expected = MultiLabelMetrics(
            split: "validation", labels: ["c0", "c1", "c2"], scores: clipScores, targets: [1, 0, 1, 0, 1, 0, 0, 0, 1])
        #expect(m.examples == 3)
        #expect(m.multiLabel == expected)
        #expect(m.meanAveragePrecision == expected.macroAveragePrecision && m.selectionScore == m.meanAveragePrecision)
        // Top classes: a → c0 (mean sigmoid of 2 and −3 beats the rest?) computed, not assumed.
        let tops = (0..<3).map { j in (0..<3).max { clipScores[j * 3 + $0] < clipScores[j * 3 + $1] }! }
        let sets: [Set<Int>] = [[0, 2], [1], [2]]
        let correct = zip(tops, sets).filter { $1.contains($0) }.count
        #expect(m.accuracy == Double(correct) / 3)
        // Loss: the examples' mean binary cross-entropy.
        var bce = 0.0
        let y = task.targets(ids)
        for (z, t) in zip(logits, y) {
            let p = sigmoid(z)
            bce -= Double(t) * log(p) + (1 - Double(t)) * log(1 - p)
        }
        #expect(abs(m.loss - bce / Double(logits.count)) < 1e-9)
    }

    @Test("class-balanced batches: classes drawn equally however rare, the same batch for a step every time")
    func classBalanced() {
        // 90 examples of class 0, 10 of class 1 (one of which also has class 2).
        let ids = (0..<100).map { String(format: "e%03d", $0) }
        let sets = Dictionary(
            uniqueKeysWithValues: ids.enumerated().map { i, id in
                (id, i < 90 ? [0] : i == 99 ? [1, 2] : [1])
            })
        let sampler = ClassBalancedSampler(ids: ids, labelSets: { sets[$0]! })
        var perClass = [0, 0, 0], total = 0
        for step in 1...300 {
            let batch = sampler.batch(batchSize: 16, seed: 7, step: step)
            #expect(batch.count == 16)
            for id in batch { for c in sets[id]! { perClass[c] += 1 } }
            total += batch.count
        }
        // Each of the 3 classes is drawn a third of the time; class 2's example also counts for class 1.
        let share0 = Double(perClass[0]) / Double(total)
        #expect(abs(share0 - 1.0 / 3) < 0.03, "\(perClass)")
        #expect(perClass[2] > total / 4)
        #expect(sampler.batch(batchSize: 16, seed: 7, step: 42) == sampler.batch(batchSize: 16, seed: 7, step: 42))
        #expect(sampler.batch(batchSize: 16, seed: 7, step: 42) != sampler.batch(batchSize: 16, seed: 8, step: 42))
    }

    @Test("a sigmoid head's starting biases are the training set's log prior odds, clamped away from 0 and 1")
    func priors() {
        let records = [
            Self.record("a", clip: "a", labels: [0, 1]), Self.record("b", clip: "b", labels: [0]),
            Self.record("c", clip: "c", labels: [0]), Self.record("d", clip: "d", labels: [2]),
        ]
        let b = MultiLabelTask(records: records, classes: 4).priorLogOdds(records.map(\.id))
        // Class 0 in 3 of 4 (log 3), class 1 and 2 in 1 of 4 (−log 3), class 3 in none: p = 1/8, log(1/7).
        let expected = [log(3.0), -log(3.0), -log(3.0), log(1.0 / 7)]
        for (x, y) in zip(b, expected) { #expect(abs(Double(x) - y) < 1e-6, "\(b)") }
    }
}
