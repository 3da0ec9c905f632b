import Foundation
import TKDCore
import Training

/// The study's table, made from the ledger alone: per (length, student, column) the test accuracy over
/// seeds, the paired difference to λ = 0 with its 95 % intervals, and the attention's localisation; per
/// length the teacher's row and whether it met the bar.
public struct StudySummary: Codable, Equatable, Sendable {
    public var study: String
    public var lengths: [String]
    public var students: [String]
    public var columns: [String]
    public var seeds: [UInt64]
    public var rows: [Row]
    public var teachers: [TeacherRow]
    /// Expected cells without a ledger entry.
    public var missing: [String]
    public var bootstrapReplicates: Int

    public struct Row: Codable, Equatable, Sendable {
        public var length: String
        public var student: String
        public var column: String
        public var lambda: Double
        public var target: String
        public var seeds: [UInt64]
        public var testAccuracy: [Double]
        public var validationAccuracy: [Double]
        public var testMean: Double
        public var testSD: Double
        public var validationMean: Double
        /// Mean over paired seeds of (this column − λ = 0) test accuracy; nil for the baseline.
        public var difference: Double?
        public var pairedSeeds: Int?
        /// 95 % percentile interval from the two-level bootstrap (seeds × test examples).
        public var bootstrapLow: Double?
        public var bootstrapHigh: Double?
        /// 95 % t-interval over seeds.
        public var tLow: Double?
        public var tHigh: Double?
        /// Mean over seeds of the attention's localisation on test keyword examples, by head (`own`, `kd_head`).
        public var attentionMass: [String: Double]
        public var attentionPeak: [String: Double]
        public var spanShare: Double?
        /// Teacher-target rows: whether every run's teacher met the bar.
        public var teacherMetBar: Bool?
        public var bestSteps: [Int]
        public var steps: Int
    }

    public struct TeacherRow: Codable, Equatable, Sendable {
        public var length: String
        public var made: String
        public var validationAccuracy: Double?
        public var testAccuracy: Double?
        public var validationPeak: Double?
        public var validationMass: Double?
        public var spanShare: Double?
        public var bestBaselineValidation: Double?
        public var metBar: Bool?
        public var barReason: String?
        public var fingerprint: String?
        public var wallSeconds: Double
    }

    /// Builds the summary. Entries whose test ids differ from their baseline's are not paired.
    public static func make(
        recipe: StudyRecipe, cells: [StudyCellEntry], teachers: [String: StudyTeacherEntry]
    ) -> StudySummary {
        var rows: [Row] = []
        var missing: [String] = []
        for length in recipe.lengths {
            for (student, _) in recipe.students {
                let baseline = cells.filter {
                    $0.length == length && $0.student == student && $0.lambda == 0
                }
                for column in recipe.columns {
                    let entries = recipe.seeds.compactMap { seed in
                        cells.first {
                            $0.length == length && $0.student == student && $0.column == column && $0.seed == seed
                        }
                    }
                    for seed in recipe.seeds where !entries.contains(where: { $0.seed == seed }) {
                        missing.append("\(length) \(student) \(column.label) seed \(seed)")
                    }
                    guard !entries.isEmpty else { continue }
                    let test = StudyStatistics.meanSD(entries.map(\.testAccuracy))
                    var row = Row(
                        length: length, student: student, column: column.label, lambda: column.lambda,
                        target: column.target, seeds: entries.map(\.seed), testAccuracy: entries.map(\.testAccuracy),
                        validationAccuracy: entries.map(\.validationAccuracy), testMean: test.mean, testSD: test.sd,
                        validationMean: StudyStatistics.meanSD(entries.map(\.validationAccuracy)).mean,
                        attentionMass: [:], attentionPeak: [:], bestSteps: entries.map(\.bestStep),
                        steps: entries.map(\.steps).max() ?? 0)
                    for head in ["own", "kd_head"] {
                        let l = entries.compactMap { $0.attention[head] }
                        guard l.count == entries.count else { continue }
                        row.attentionMass[head] = l.map(\.massInSpeech).reduce(0, +) / Double(l.count)
                        row.attentionPeak[head] = l.map(\.peakInSpeech).reduce(0, +) / Double(l.count)
                        row.spanShare = l.map(\.spanShare).reduce(0, +) / Double(l.count)
                    }
                    if column.target == "teacher" {
                        row.teacherMetBar = entries.allSatisfy { $0.teacherMetBar == true }
                    }
                    if column.lambda > 0 {
                        var treatment: [[Bool]] = [], base: [[Bool]] = [], diffs: [Double] = []
                        for e in entries {
                            guard let b = baseline.first(where: { $0.seed == e.seed }),
                                b.test.idsSHA256 == e.test.idsSHA256, b.test.examples == e.test.examples,
                                let x = EvaluationDetails.bits(hex: e.test.correct, count: e.test.examples),
                                let y = EvaluationDetails.bits(hex: b.test.correct, count: b.test.examples)
                            else { continue }
                            treatment.append(x)
                            base.append(y)
                            diffs.append(e.testAccuracy - b.testAccuracy)
                        }
                        if !diffs.isEmpty {
                            row.difference = diffs.reduce(0, +) / Double(diffs.count)
                            row.pairedSeeds = diffs.count
                            if let ci = StudyStatistics.pairedBootstrap(
                                treatment: treatment, baseline: base, replicates: recipe.bootstrap.replicates,
                                seed: recipe.bootstrap.seed)
                            {
                                row.bootstrapLow = ci.lo
                                row.bootstrapHigh = ci.hi
                            }
                            if let t = StudyStatistics.tInterval(diffs) {
                                row.tLow = t.lo
                                row.tHigh = t.hi
                            }
                        }
                    }
                    rows.append(row)
                }
            }
        }
        var teacherRows: [TeacherRow] = []
        for length in recipe.lengths {
            guard let t = teachers[length] else {
                missing.append("\(length) teacher")
                continue
            }
            let best = rows.filter { $0.length == length && $0.lambda == 0 }.map(\.validationMean).max()
            var row = TeacherRow(
                length: length, made: t.made, validationAccuracy: t.validationAccuracy, testAccuracy: t.testAccuracy,
                validationPeak: t.validation?.peakInSpeech, validationMass: t.validation?.massInSpeech,
                spanShare: t.validation?.spanShare, bestBaselineValidation: best, fingerprint: t.fingerprints.teacher,
                wallSeconds: t.wallSeconds)
            let bar = teacherBar(entry: t, bestBaseline: best, peak: recipe.teacher.peakInSpan)
            row.metBar = bar.met
            row.barReason = bar.reason
            teacherRows.append(row)
        }
        return StudySummary(
            study: recipe.name, lengths: recipe.lengths, students: recipe.students.map(\.name),
            columns: recipe.columns.map(\.label), seeds: recipe.seeds, rows: rows, teachers: teacherRows,
            missing: missing, bootstrapReplicates: recipe.bootstrap.replicates)
    }

    /// The teacher bar: validation accuracy ≥ the best λ = 0 student's mean validation accuracy at that length,
    /// and the rollout's peak inside the speech span for ≥ `peak` of validation keyword examples. `met` is nil
    /// while no λ = 0 student has finished.
    public static func teacherBar(
        entry: StudyTeacherEntry, bestBaseline: Double?, peak: Double
    )
        -> (met: Bool?, reason: String)
    {
        let p = entry.validation?.peakInSpeech ?? 0
        var problems: [String] = []
        if p < peak {
            problems.append(String(format: "rollout peak in span %.1f %% < %.0f %%", 100 * p, 100 * peak))
        }
        guard let best = bestBaseline else {
            return (
                problems.isEmpty ? nil : false,
                problems.isEmpty ? "no λ = 0 student yet" : problems.joined(separator: "; ")
            )
        }
        let acc = entry.validationAccuracy ?? 0
        if acc < best {
            problems.append(
                String(format: "validation accuracy %.1f %% < best λ = 0 student's %.1f %%", 100 * acc, 100 * best))
        }
        return (
            problems.isEmpty,
            problems.isEmpty
                ? String(
                    format: "validation %.1f %% ≥ %.1f %%, peak in span %.1f %% ≥ %.0f %%", 100 * acc, 100 * best,
                    100 * p, 100 * peak)
                : problems.joined(separator: "; ")
        )
    }
}
