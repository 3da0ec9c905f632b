import Foundation
import TestSupport
import Testing

@testable import TrainingLoop

/// Issue 16, point 3: the multi-label metrics against scikit-learn and SciPy (fixtures from
/// `Scripts/reference/multilabel_metrics.py`: continuous scores, scores with many ties, and sparse labels with
/// empty and full examples), and small cases by hand.
@Suite("Multi-label metrics")
struct MultiLabelMetricsTests {
    struct Case: Decodable {
        var name: String
        var examples: Int
        var classes: Int
        var scores: [Float]
        var truth: [UInt8]
        var average_precision: [Double]
        var macro_ap: Double
        var micro_ap: Double
        var auc: [Double]
        var d_prime: [Double]
        var macro_auc: Double
        var macro_d_prime: Double
        var lwlrap: Double
    }

    static let cases: [Case] = {
        struct File: Decodable { var cases: [Case] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/multilabel-metrics.json")
        return (try? JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases) ?? []
    }()

    @Test(
        "average precision, AUC, d′ and lwlrap match scikit-learn and SciPy",
        arguments: ["continuous", "ties", "sparse"])
    func reference(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name }, "fixture case \(name)")
        let labels = (0..<c.classes).map { "c\($0)" }
        let m = MultiLabelMetrics(split: "testing", labels: labels, scores: c.scores, targets: c.truth)
        // Both sides compute in float64 from the same float32 scores: only summation order differs.
        let tol = 1e-12
        #expect(m.examples == c.examples)
        for k in 0..<c.classes {
            let p = m.perClass[k]
            #expect(abs(p.averagePrecision! - c.average_precision[k]) < tol, "AP class \(k)")
            #expect(abs(p.auc! - c.auc[k]) < tol, "AUC class \(k)")
            #expect(abs(p.dPrime! - c.d_prime[k]) < 1e-9, "d′ class \(k): \(p.dPrime!) vs \(c.d_prime[k])")
        }
        #expect(abs(m.macroAveragePrecision - c.macro_ap) < tol, "\(m.macroAveragePrecision) vs \(c.macro_ap)")
        #expect(abs(m.microAveragePrecision - c.micro_ap) < tol, "\(m.microAveragePrecision) vs \(c.micro_ap)")
        #expect(abs(m.macroAUC - c.macro_auc) < tol)
        #expect(abs(m.dPrime! - c.macro_d_prime) < 1e-9, "\(String(describing: m.dPrime)) vs \(c.macro_d_prime)")
        #expect(abs(m.lwlrap - c.lwlrap) < tol, "\(m.lwlrap) vs \(c.lwlrap)")
    }

    @Test("by hand: a tie enters together; a class without positives is left out of the macro mean")
    func byHand() {
        // Ranking 0.9 (+), 0.5 (−), 0.5 (+), 0.1 (−): the tie at 0.5 enters together.
        // AP = 1/2 · 1 + 1/2 · 2/3 = 5/6 (without grouping it would be 1/2 + 1/2 · 2/3 or 1/2 + 1/2 · 1).
        let ap = MultiLabelMetrics.averagePrecision(scores: [0.9, 0.5, 0.5, 0.1], truth: [true, false, true, false])
        #expect(abs(ap! - 5.0 / 6) < 1e-15)
        // AUC: pairs (+0.9 > both −) = 2, (+0.5 vs −0.5) = ½, (+0.5 > −0.1) = 1 → 3.5 / 4.
        let auc = MultiLabelMetrics.rocAUC(scores: [0.9, 0.5, 0.5, 0.1], truth: [true, false, true, false])
        #expect(abs(auc! - 0.875) < 1e-15)
        #expect(MultiLabelMetrics.averagePrecision(scores: [0.3, 0.2], truth: [false, false]) == nil)
        #expect(MultiLabelMetrics.rocAUC(scores: [0.3, 0.2], truth: [true, true]) == nil)
        // Two classes; the second has no positive: the macro mAP is the first class's AP alone.
        let m = MultiLabelMetrics(
            split: "t", labels: ["a", "b"], scores: [0.9, 0.2, 0.1, 0.8], targets: [1, 0, 0, 0])
        #expect(m.perClass[1].averagePrecision == nil && m.macroAveragePrecision == 1)
        // lwlrap by hand: example 0 (a+; a 0.9 > b 0.2) → 1; example 1 has no label and weighs nothing.
        #expect(m.lwlrap == 1)
    }

    @Test("Φ⁻¹ against known quantiles, and d′ of chance is 0")
    func inverseNormal() {
        let known: [(Double, Double)] = [
            (0.5, 0), (0.975, 1.959963984540054), (0.8413447460685429, 1), (1e-10, -6.361340902404056),
            (0.01, -2.3263478740408408), (0.999, 3.090232306167813),
        ]
        for (p, x) in known {
            let got = MultiLabelMetrics.inverseNormalCDF(p)
            #expect(abs(got - x) <= 1e-12 * max(1, abs(x)), "Φ⁻¹(\(p)) = \(got), expected \(x)")
        }
        #expect(MultiLabelMetrics.dPrime(0.5) == 0)
        // A perfectly separated class has AUC 1 and an infinite d′: recorded as null (JSON has no infinity).
        let perfect = MultiLabelMetrics(split: "t", labels: ["a"], scores: [0.9, 0.1], targets: [1, 0])
        #expect(perfect.perClass[0].auc == 1 && perfect.perClass[0].dPrime == nil && perfect.dPrime == nil)
        #expect(throws: Never.self) { try JSONEncoder().encode(perfect) }
    }
}
