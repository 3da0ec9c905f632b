import Foundation

/// Multi-label classification metrics of one split (FSD50K-style sound-event tagging): per-class average
/// precision and ROC AUC, their macro means, micro average precision, d′ and lwlrap, from scores (e.g. sigmoid
/// outputs) and 0/1 targets. The definitions are scikit-learn's, tie handling included, and are checked
/// against it (`Scripts/reference/multilabel_metrics.py`).
public struct MultiLabelMetrics: Sendable, Equatable, Codable {
    public var split: String
    public var examples: Int
    /// Mean over classes with at least one positive of the per-class average precision (the FSD50K paper's
    /// mAP; scikit-learn's `average="macro"` when every class has a positive).
    public var macroAveragePrecision: Double
    /// Average precision of every (example, class) pair ranked together (`average="micro"`).
    public var microAveragePrecision: Double
    /// Mean over classes with positives and negatives of the per-class ROC AUC.
    public var macroAUC: Double
    /// √2 · Φ⁻¹(macro AUC), the AudioSet convention; nil (JSON null) when the AUC is 0 or 1 (d′ infinite).
    public var dPrime: Double?
    /// Label-weighted label-ranking average precision (DCASE 2019 task 2).
    public var lwlrap: Double
    public var perClass: [ClassMetrics]

    public struct ClassMetrics: Sendable, Equatable, Codable {
        public var label: String
        public var positives: Int
        /// Nil without positives.
        public var averagePrecision: Double?
        /// Nil without positives or without negatives.
        public var auc: Double?
        public var dPrime: Double?

        enum CodingKeys: String, CodingKey {
            case label, positives, auc
            case averagePrecision = "average_precision", dPrime = "d_prime"
        }
    }

    enum CodingKeys: String, CodingKey {
        case split, examples, lwlrap
        case macroAveragePrecision = "macro_average_precision", microAveragePrecision = "micro_average_precision"
        case macroAUC = "macro_auc", dPrime = "d_prime", perClass = "per_class"
    }

    /// From scores [N, K] and targets [N, K] (row-major; a target is positive when non-zero).
    public init(split: String, labels: [String], scores: [Float], targets: [UInt8]) {
        let k = labels.count
        precondition(k > 0 && scores.count == targets.count && scores.count % k == 0)
        let n = scores.count / k
        var perClass: [ClassMetrics] = []
        for c in 0..<k {
            let s = (0..<n).map { scores[$0 * k + c] }
            let t = (0..<n).map { targets[$0 * k + c] != 0 }
            let auc = Self.rocAUC(scores: s, truth: t)
            perClass.append(
                ClassMetrics(
                    label: labels[c], positives: t.filter { $0 }.count,
                    averagePrecision: Self.averagePrecision(scores: s, truth: t), auc: auc,
                    dPrime: auc.map(Self.dPrime).flatMap { $0.isFinite ? $0 : nil }))
        }
        let aps = perClass.compactMap(\.averagePrecision), aucs = perClass.compactMap(\.auc)
        self.split = split
        examples = n
        macroAveragePrecision = aps.isEmpty ? 0 : aps.reduce(0, +) / Double(aps.count)
        microAveragePrecision = Self.averagePrecision(scores: scores, truth: targets.map { $0 != 0 }) ?? 0
        macroAUC = aucs.isEmpty ? 0.5 : aucs.reduce(0, +) / Double(aucs.count)
        let d = Self.dPrime(macroAUC)
        dPrime = d.isFinite ? d : nil
        lwlrap = Self.lwlrap(scores: scores, targets: targets, classes: k)
        self.perClass = perClass
    }

    /// Average precision of one ranking: the sum of (recall gained) × precision over the distinct score
    /// thresholds, highest first (tied scores enter together), as scikit-learn's `average_precision_score`;
    /// nil without positives.
    public static func averagePrecision(scores: [Float], truth: [Bool]) -> Double? {
        let positives = truth.filter { $0 }.count
        guard positives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, seen = 0, ap = 0.0, lastRecall = 0.0
        var i = 0
        while i < order.count {
            let threshold = scores[order[i]]
            while i < order.count && scores[order[i]] == threshold {
                if truth[order[i]] { tp += 1 }
                seen += 1
                i += 1
            }
            let recall = Double(tp) / Double(positives)
            ap += (recall - lastRecall) * Double(tp) / Double(seen)
            lastRecall = recall
        }
        return ap
    }

    /// ROC AUC as the Mann-Whitney statistic with tied scores counted half (equal to the trapezoidal area
    /// scikit-learn computes); nil without positives or without negatives.
    public static func rocAUC(scores: [Float], truth: [Bool]) -> Double? {
        let positives = truth.filter { $0 }.count, negatives = truth.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Average ranks (1-based) of the scores in ascending order, ties sharing their mean rank.
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let mean = Double(i + j + 2) / 2
            for m in i...j where truth[order[m]] { rankSum += mean }
            i = j + 1
        }
        let p = Double(positives)
        return (rankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }

    /// d′ = √2 · Φ⁻¹(AUC): the separation, in standard deviations, of two unit-variance Gaussians with
    /// that AUC.
    public static func dPrime(_ auc: Double) -> Double { 2.0.squareRoot() * inverseNormalCDF(auc) }

    /// Label-weighted label-ranking average precision: for every positive (example, class) pair, the share of
    /// positives among the example's classes scoring at least as high; averaged over all positive pairs
    /// (an example weighs its number of positives). scikit-learn's `label_ranking_average_precision_score`
    /// weighted by positives, including its rule that an example whose every class is positive scores 1.
    public static func lwlrap(scores: [Float], targets: [UInt8], classes k: Int) -> Double {
        let n = scores.count / k
        var sum = 0.0, weight = 0.0
        for e in 0..<n {
            let row = e * k
            let positive = (0..<k).filter { targets[row + $0] != 0 }
            guard !positive.isEmpty else { continue }
            weight += Double(positive.count)
            if positive.count == k {
                sum += Double(k)
                continue
            }
            var exampleSum = 0.0
            for c in positive {
                let s = scores[row + c]
                let rank = (0..<k).filter { scores[row + $0] >= s }.count
                let hits = positive.filter { scores[row + $0] >= s }.count
                exampleSum += Double(hits) / Double(rank)
            }
            sum += exampleSum  // (mean over the example's positives) × (its weight, their number)
        }
        return weight > 0 ? sum / weight : 0
    }

    /// Φ⁻¹(p): Acklam's rational approximation refined by one Halley step on erfc (about 1e-15 relative).
    public static func inverseNormalCDF(_ p: Double) -> Double {
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00,
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01,
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00,
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x =
                (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x =
                (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x =
                -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        // Halley refinement: e = Φ(x) − p with Φ(x) = erfc(−x/√2)/2.
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }
}
