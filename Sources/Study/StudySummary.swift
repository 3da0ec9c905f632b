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
    /// Where several λ share a (length, student, schedule, target): the λ chosen on mean validation accuracy.
    public var selections: [Selection] = []
    /// Per (student, schedule, column) present at three or more lengths: the paired gain's slope over length.
    public var trends: [Trend] = []
    /// The convergence rule the `converged` flags apply.
    public var convergenceRule: String = ""

    public struct Selection: Codable, Equatable, Sendable {
        public var length: String
        public var student: String
        public var schedule: String?
        public var target: String
        public var lambdas: [Double]
        public var validationMeans: [Double]
        public var selected: Double
    }

    public struct Trend: Codable, Equatable, Sendable {
        public var student: String
        public var schedule: String?
        public var column: String
        public var lengths: [String]
        public var seconds: [Double]
        public var gains: [Double]
        /// Points of accuracy (fractions) per second of input, and its 95 % bootstrap interval.
        public var slopePerSecond: Double
        public var low: Double
        public var high: Double
    }

    /// Figures of a row on the real-speech test sets (only the seeds that have them).
    public struct RealSpeech: Codable, Equatable, Sendable {
        public var seeds: [UInt64]
        public var accuracy: [Double]
        public var mean: Double
        public var sd: Double
        public var examples: Int
        public var difference: Double?
        public var pairedSeeds: Int?
        public var bootstrapLow: Double?
        public var bootstrapHigh: Double?
        public var tLow: Double?
        public var tHigh: Double?
        public var seedDifferences: [Double]?
    }

    public struct Row: Codable, Equatable, Sendable {
        public var length: String
        public var student: String
        public var column: String
        /// The recipe's schedule (nil: the default).
        public var schedule: String?
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
        /// Per seed: whether the run plateaued by the recipe's rule (nil: no validation curve in its entry).
        public var converged: [Bool?] = []
        /// Per seed: best validation accuracy of the last window minus the best before it.
        public var lateGain: [Double?] = []
        /// Per seed: the validation curve, `[step, accuracy]`.
        public var curves: [[[Double]]] = []
        /// Per seed: the paired test difference to λ = 0 (λ > 0 rows).
        public var seedDifferences: [Double]?
        public var realSpeech: RealSpeech?
        /// Whether this λ is the one chosen on validation among its (length, student, schedule, target).
        public var selected: Bool?
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
        /// The bar against the default schedule's λ = 0 students.
        public var metBar: Bool?
        public var barReason: String?
        /// The bar per schedule of the length's cells (nil: the default), each against its own λ = 0 students.
        public var bars: [Bar] = []
        public var fingerprint: String?
        public var wallSeconds: Double
        public var realSpeechAccuracy: Double?
        public var realSpeechExamples: Int?

        public struct Bar: Codable, Equatable, Sendable {
            public var schedule: String?
            public var bestBaselineValidation: Double?
            public var met: Bool?
            public var reason: String
        }

        /// The bar for a schedule's cells.
        public func bar(_ schedule: String?) -> Bar? { bars.first { $0.schedule == schedule } }
    }

    /// Builds the summary. Entries whose test ids differ from their baseline's are not paired.
    public static func make(
        recipe: StudyRecipe, cells: [StudyCellEntry], teachers: [StudyTeacherEntry]
    ) -> StudySummary {
        var rows: [Row] = []
        var missing: [String] = []
        for planned in recipe.plan {
            do {
                let (length, student, schedule, column) =
                    (planned.length, planned.student, planned.schedule, planned.column)
                let baseline = cells.filter {
                    $0.length == length && $0.student == student && $0.lambda == 0 && $0.schedule == schedule
                }
                do {
                    let entries = recipe.seeds.compactMap { seed in
                        cells.first {
                            $0.length == length && $0.student == student && $0.column == column && $0.seed == seed
                                && $0.schedule == schedule
                        }
                    }
                    for seed in recipe.seeds where !entries.contains(where: { $0.seed == seed }) {
                        missing.append(
                            "\(length) \(student) \(column.label)\(schedule.map { " [\($0)]" } ?? "") seed \(seed)")
                    }
                    guard !entries.isEmpty else { continue }
                    let test = StudyStatistics.meanSD(entries.map(\.testAccuracy))
                    var row = Row(
                        length: length, student: student, column: Self.columnLabel(column, schedule),
                        schedule: schedule, lambda: column.lambda,
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
                    for e in entries {
                        let c = e.validationCurve.flatMap {
                            StudyStatistics.convergence(curve: $0, steps: e.steps, rule: recipe.convergence)
                        }
                        row.converged.append(c?.plateaued)
                        row.lateGain.append(c?.lateGain)
                        row.curves.append(e.validationCurve ?? [])
                    }
                    row.realSpeech = Self.realSpeech(
                        entries: entries, baseline: column.lambda > 0 ? baseline : nil, bootstrap: recipe.bootstrap)
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
                            row.seedDifferences = diffs
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
            let mine = teachers.filter { $0.length == length }
            guard let first = mine.first else {
                missing.append("\(length) teacher")
                continue
            }
            func best(_ schedule: String?) -> Double? {
                rows.filter { $0.length == length && $0.lambda == 0 && $0.schedule == schedule }
                    .map(\.validationMean).max()
            }
            // Which teacher each schedule's teacher-target cells used (a later sitting on another CPU may have
            // recorded a second one); a schedule without such cells yet goes to the first teacher.
            let schedules = Set(recipe.plan.filter { $0.length == length }.map(\.schedule)).sorted {
                ($0 ?? "") < ($1 ?? "")
            }
            func used(_ schedule: String?) -> String? {
                let fps = cells.filter {
                    $0.length == length && $0.schedule == schedule && $0.target == "teacher"
                }.compactMap(\.fingerprints.teacher)
                return mine.first { t in fps.contains(t.fingerprints.teacher ?? "") }?.fingerprints.teacher
                    ?? first.fingerprints.teacher
            }
            for t in mine {
                var row = TeacherRow(
                    length: length, made: t.made, validationAccuracy: t.validationAccuracy,
                    testAccuracy: t.testAccuracy, validationPeak: t.validation?.peakInSpeech,
                    validationMass: t.validation?.massInSpeech, spanShare: t.validation?.spanShare,
                    bestBaselineValidation: best(nil), fingerprint: t.fingerprints.teacher, wallSeconds: t.wallSeconds)
                let bar = teacherBar(entry: t, bestBaseline: best(nil), peak: recipe.teacher.peakInSpan)
                row.metBar = bar.met
                row.barReason = bar.reason
                for schedule in schedules where used(schedule) == t.fingerprints.teacher {
                    let b = teacherBar(entry: t, bestBaseline: best(schedule), peak: recipe.teacher.peakInSpan)
                    row.bars.append(
                        TeacherRow.Bar(
                            schedule: schedule, bestBaselineValidation: best(schedule), met: b.met, reason: b.reason))
                }
                row.realSpeechAccuracy = t.realSpeech?.accuracy
                row.realSpeechExamples = t.realSpeech?.examples
                teacherRows.append(row)
            }
        }
        var summary = StudySummary(
            study: recipe.name, lengths: recipe.lengths, students: recipe.students.map(\.name),
            columns: Self.columnLabels(recipe), seeds: recipe.seeds, rows: rows, teachers: teacherRows,
            missing: missing, bootstrapReplicates: recipe.bootstrap.replicates)
        summary.convergenceRule = String(
            format: "best validation accuracy over the last %.0f %% of the steps at most %.1f points above the "
                + "best before", 100 * recipe.convergence.window, 100 * recipe.convergence.tolerance)
        summary.select()
        summary.trends = Self.trends(recipe: recipe, rows: summary.rows, cells: cells)
        return summary
    }

    /// Marks, per (length, student, schedule, target) with several λ, the λ with the best mean validation
    /// accuracy (ties: the smaller λ), and records the choice.
    mutating func select() {
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for (i, r) in rows.enumerated() where r.lambda > 0 {
            let key = "\(r.length)|\(r.student)|\(r.schedule ?? "")|\(r.target)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(i)
        }
        for key in order {
            let members = groups[key]!.sorted { rows[$0].lambda < rows[$1].lambda }
            guard members.count > 1 else { continue }
            let best = members.max {
                rows[$0].validationMean < rows[$1].validationMean
                    || (rows[$0].validationMean == rows[$1].validationMean && rows[$0].lambda > rows[$1].lambda)
            }!
            for i in members { rows[i].selected = i == best }
            let r = rows[best]
            selections.append(
                Selection(
                    length: r.length, student: r.student, schedule: r.schedule, target: r.target,
                    lambdas: members.map { rows[$0].lambda }, validationMeans: members.map { rows[$0].validationMean },
                    selected: r.lambda))
        }
    }

    /// The real-speech figures of a row's entries, paired with the baseline's where given.
    static func realSpeech(
        entries: [StudyCellEntry], baseline: [StudyCellEntry]?, bootstrap: StudyRecipe.Bootstrap
    ) -> RealSpeech? {
        let scored = entries.filter { $0.realSpeech != nil }
        guard !scored.isEmpty else { return nil }
        let acc = scored.map { $0.realSpeech!.accuracy }
        let (m, sd) = StudyStatistics.meanSD(acc)
        var out = RealSpeech(
            seeds: scored.map(\.seed), accuracy: acc, mean: m, sd: sd, examples: scored[0].realSpeech!.examples)
        guard let baseline else { return out }
        var treatment: [[Bool]] = [], base: [[Bool]] = [], diffs: [Double] = []
        for e in scored {
            guard let r = e.realSpeech, let b = baseline.first(where: { $0.seed == e.seed })?.realSpeech,
                r.idsSHA256 == b.idsSHA256, r.examples == b.examples,
                let x = r.correct.flatMap({ EvaluationDetails.bits(hex: $0, count: r.examples) }),
                let y = b.correct.flatMap({ EvaluationDetails.bits(hex: $0, count: b.examples) })
            else { continue }
            treatment.append(x)
            base.append(y)
            diffs.append(r.accuracy - b.accuracy)
        }
        guard !diffs.isEmpty else { return out }
        out.difference = diffs.reduce(0, +) / Double(diffs.count)
        out.pairedSeeds = diffs.count
        out.seedDifferences = diffs
        if let ci = StudyStatistics.pairedBootstrap(
            treatment: treatment, baseline: base, replicates: bootstrap.replicates, seed: bootstrap.seed)
        {
            out.bootstrapLow = ci.lo
            out.bootstrapHigh = ci.hi
        }
        if let t = StudyStatistics.tInterval(diffs) {
            out.tLow = t.lo
            out.tHigh = t.hi
        }
        return out
    }

    /// The paired gain's slope over length for every (student, schedule, λ > 0 column) with paired seeds at three
    /// or more lengths whose variants give a length in seconds (`<n>s`).
    static func trends(recipe: StudyRecipe, rows: [Row], cells: [StudyCellEntry]) -> [Trend] {
        var out: [Trend] = []
        var seen: [String] = []
        for r in rows where r.lambda > 0 {
            let key = "\(r.student)|\(r.schedule ?? "")|\(r.column)"
            guard !seen.contains(key) else { continue }
            seen.append(key)
            var lengths: [String] = [], seconds: [Double] = [], gains: [Double] = []
            var treatment: [[[Bool]]] = [], baseline: [[[Bool]]] = []
            for length in recipe.lengths {
                guard let x = Double(length.dropLast()), length.hasSuffix("s"),
                    let row = rows.first(where: {
                        $0.length == length && $0.student == r.student && $0.schedule == r.schedule
                            && $0.column == r.column
                    }), let gain = row.difference
                else { continue }
                var t: [[Bool]] = [], b: [[Bool]] = []
                for seed in row.seeds {
                    func find(_ lambda: Double, _ target: String) -> StudyCellEntry? {
                        cells.first {
                            $0.length == length && $0.student == r.student && $0.schedule == r.schedule
                                && $0.seed == seed && $0.lambda == lambda && $0.target == target
                        }
                    }
                    guard let e = find(r.lambda, r.target), let z = find(0, "none"),
                        e.test.idsSHA256 == z.test.idsSHA256,
                        let eb = EvaluationDetails.bits(hex: e.test.correct, count: e.test.examples),
                        let zb = EvaluationDetails.bits(hex: z.test.correct, count: z.test.examples)
                    else { continue }
                    t.append(eb)
                    b.append(zb)
                }
                guard !t.isEmpty else { continue }
                lengths.append(length)
                seconds.append(x)
                gains.append(gain)
                treatment.append(t)
                baseline.append(b)
            }
            guard lengths.count >= 3,
                let s = StudyStatistics.slopeBootstrap(
                    x: seconds, treatment: treatment, baseline: baseline, replicates: recipe.bootstrap.replicates,
                    seed: recipe.bootstrap.seed)
            else { continue }
            out.append(
                Trend(
                    student: r.student, schedule: r.schedule, column: r.column, lengths: lengths, seconds: seconds,
                    gains: gains, slopePerSecond: s.slope, low: s.lo, high: s.hi))
        }
        return out
    }

    /// A row's column label: the column, and the schedule when it is not the default.
    public static func columnLabel(_ column: StudyRecipe.Cell, _ schedule: String?) -> String {
        column.label + (schedule.map { ", \($0)" } ?? "")
    }

    /// Every column label of the plan, in plan order.
    public static func columnLabels(_ recipe: StudyRecipe) -> [String] {
        var out: [String] = []
        for p in recipe.plan {
            let l = columnLabel(p.column, p.schedule)
            if !out.contains(l) { out.append(l) }
        }
        return out
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
