import DatasetFormat
import Foundation
import Layers
import TKDCore
import TestSupport
import Testing

@testable import TrainingLoop

@Suite("Metrics")
struct MetricsTests {
    @Test("accuracy, confusion, precision/recall and average precision by hand")
    func byHand() {
        // 3 classes, 4 examples.
        let scores: [Float] = [0.7, 0.2, 0.1, 0.3, 0.6, 0.1, 0.5, 0.4, 0.1, 0.1, 0.3, 0.6]
        let m = Metrics(split: "testing", labels: ["a", "b", "c"], scores: scores, truth: [0, 1, 1, 2], loss: 0)
        #expect(m.accuracy == 0.75)
        #expect(m.confusion == [[1, 0, 0], [1, 1, 0], [0, 0, 1]])
        #expect(m.perClass[0].precision == 0.5 && m.perClass[0].recall == 1)
        #expect(m.perClass[1].precision == 1 && m.perClass[1].recall == 0.5)
        // Class b ranked by score: ex1 0.6 (b), ex2 0.4 (b), ex3 0.3, ex0 0.2 → AP = (1/1 + 2/2)/2 = 1.
        #expect(m.perClass[1].averagePrecision == 1)
        // Class a: ex0 0.7 (a), ex2 0.5, ex1 0.3, ex3 0.1 → AP 1; class c: ex3 0.6 (c) → 1.
        #expect(m.meanAveragePrecision == 1)
        let worse = Metrics(split: "t", labels: ["a", "b"], scores: [0.4, 0.6, 0.9, 0.1], truth: [0, 1], loss: 0)
        // Class a ranking: ex1 (b) then ex0 (a): AP = 1/2.
        #expect(worse.perClass[0].averagePrecision == 0.5)
    }
}
