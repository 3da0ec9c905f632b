import DatasetFormat
import Foundation
import TensorStore

/// The cells a protocol expects: every student × λ × seed, λ > 0 with targets of one kind.
public struct ExpectedGrid: Sendable, Equatable {
    public var students: [String]
    public var lambdas: [Double]
    public var seeds: [UInt64]
    /// The kind of target of the λ > 0 cells: `teacher` (any teacher cache) or `oracle`.
    public var target: String

    public init(students: [String], lambdas: [Double], seeds: [UInt64], target: String) {
        self.students = students
        self.lambdas = lambdas
        self.seeds = seeds
        self.target = target
    }
}

/// A run folder without metrics.json, as its config.json describes it.
public struct UnfinishedRun: Sendable, Equatable {
    public var name: String
    public var student: String
    public var kdLambda: Double
    public var kdTarget: String
    public var seed: UInt64

    public init(name: String, student: String, kdLambda: Double, kdTarget: String, seed: UInt64) {
        self.name = name
        self.student = student
        self.kdLambda = kdLambda
        self.kdTarget = kdTarget
        self.seed = seed
    }
}

extension DatasetReport {
    /// A Table 2 column: one λ and, for λ > 0, one target (a run's full target, e.g. `teacher:<fingerprint>`,
    /// or the expected kind when no run of that kind exists yet). λ = 0 runs share one column: without
    /// distillation the target does not enter training.
    struct Column: Hashable, Comparable {
        var lambda: Double
        var target: String
        static func < (a: Column, b: Column) -> Bool {
            a.lambda != b.lambda ? a.lambda < b.lambda : a.target < b.target
        }
        /// The heading: λ, and the target with a teacher's fingerprint cut to the 16 digits that name its cache.
        var title: String {
            let shown =
                target.hasPrefix("teacher:") ? String(target.prefix(8 + DatasetLayout.teacherFolderDigits)) : target
            return shown.isEmpty
                ? "λ = \(DatasetReport.short(lambda))" : "λ = \(DatasetReport.short(lambda)) (\(shown))"
        }
        func holds(lambda l: Double, target t: String) -> Bool {
            l == lambda && (lambda == 0 || t == target)
        }
    }

    /// What the table says about the expected grid: cells complete, incomplete (some seeds) and missing (none).
    public struct GridStatus: Sendable, Equatable {
        public var cells = 0, complete = 0, incomplete = 0, missing = 0
        public var runsExpected = 0, runsFinished = 0
        public var problems: [String] = []
    }

    func columns() -> [Column] {
        var set = Set(runs.map { Column(lambda: $0.kdLambda, target: $0.kdLambda == 0 ? "" : $0.kdTarget) })
        set.formUnion(unfinished.map { Column(lambda: $0.kdLambda, target: $0.kdLambda == 0 ? "" : $0.kdTarget) })
        if let e = expected {
            for l in e.lambdas where !set.contains(where: { Self.matches($0, lambda: l, kind: e.target) }) {
                set.insert(Column(lambda: l, target: l == 0 ? "" : e.target))
            }
        }
        return set.sorted()
    }

    /// Whether a column is an expected one: the λ, and (λ > 0) a target of the expected kind.
    static func matches(_ c: Column, lambda: Double, kind: String) -> Bool {
        c.lambda == lambda && (lambda == 0 || c.target == kind || c.target.hasPrefix("\(kind):"))
    }

    /// The expected grid's status (nil without one).
    public func gridStatus() -> GridStatus? {
        guard let e = expected else { return nil }
        var status = GridStatus()
        let cols = columns()
        for student in e.students {
            for l in e.lambdas {
                status.cells += 1
                status.runsExpected += e.seeds.count
                let matching = cols.filter { Self.matches($0, lambda: l, kind: e.target) }
                let seeds = Set(
                    runs.filter { r in
                        r.student == student
                            && matching.contains { $0.holds(lambda: r.kdLambda, target: r.kdTarget) }
                    }.compactMap(\.seed))
                let have = e.seeds.filter { seeds.contains($0) }
                status.runsFinished += have.count
                let cell = "\(student), λ = \(Self.short(l))\(l == 0 ? "" : " (\(e.target))")"
                if have.count == e.seeds.count {
                    status.complete += 1
                } else if have.isEmpty {
                    status.missing += 1
                    status.problems.append(
                        "\(cell): missing (no finished seed of \(e.seeds.map(String.init).joined(separator: ", ")))")
                } else {
                    status.incomplete += 1
                    let lacking = e.seeds.filter { !seeds.contains($0) }.map(String.init).joined(separator: ", ")
                    status.problems.append("\(cell): incomplete (seed \(lacking) not finished)")
                }
            }
        }
        return status
    }

    /// The Table 2-style table: a teacher row, then student × (λ, target) → test accuracy as mean ± sd and n
    /// over the runs of that cell; with an expected grid, every expected cell is listed and the missing or
    /// incomplete ones are marked.
    /// On a multi-label dataset the Table 1 layout: test macro mAP (mean ± sd, 4 decimals) and the teacher's mAP.
    func table2(multiLabel: Bool = false) throws -> String {
        let cols = columns()
        var students = expected?.students ?? []
        for r in runs where !students.contains(r.student) { students.append(r.student) }
        for r in unfinished where !students.contains(r.student) { students.append(r.student) }
        var s = multiLabel ? "<h2>Test mAP (Table 1 style)</h2>\n" : "<h2>Test accuracy (Table 2 style)</h2>\n"
        if let g = gridStatus() {
            let line =
                "Expected: \(g.cells) cells (\(g.runsExpected) runs), \(g.complete) complete, \(g.incomplete) "
                + "incomplete, \(g.missing) missing; \(g.runsFinished) of \(g.runsExpected) runs finished."
            s += g.problems.isEmpty ? "<p>\(esc(line))</p>\n" : "<p class=missing>\(esc(line))</p>\n<ul>"
            for p in g.problems { s += "<li class=missing>\(esc(p))</li>" }
            s += g.problems.isEmpty ? "" : "</ul>\n"
        }
        s += "<table><tr><th>model</th>" + cols.map { "<th>\(esc($0.title))</th>" }.joined() + "</tr>"
        s += try teacherRows(columns: cols.count, multiLabel: multiLabel)
        for student in students {
            s += "<tr><td>\(esc(student))</td>"
            for c in cols {
                let cell = runs.filter {
                    $0.student == student && c.holds(lambda: $0.kdLambda, target: $0.kdTarget)
                }
                let open = unfinished.filter {
                    $0.student == student && c.holds(lambda: $0.kdLambda, target: $0.kdTarget)
                }
                let acc = cell.map(\.testScore)
                var expectedRuns: Int?
                if let e = expected, e.students.contains(student), e.lambdas.contains(c.lambda),
                    Self.matches(c, lambda: c.lambda, kind: e.target)
                {
                    expectedRuns = e.seeds.count
                }
                var text: String
                if acc.isEmpty {
                    text = expectedRuns == nil ? "–" : "missing"
                } else {
                    let mean = acc.reduce(0, +) / Double(acc.count)
                    let sd =
                        acc.count > 1
                        ? (acc.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(acc.count - 1)).squareRoot() : 0
                    text =
                        multiLabel
                        ? String(format: "%.4f ± %.4f", mean, sd)
                        : String(format: "%.1f ± %.1f %%", 100 * mean, 100 * sd)
                    text += expectedRuns.map { " (n = \(acc.count) of \($0))" } ?? " (n = \(acc.count))"
                }
                if !open.isEmpty { text += ", \(open.count) unfinished" }
                let bad = expectedRuns.map { acc.count < $0 } ?? false
                s += bad ? "<td class=missing>\(esc(text))</td>" : "<td>\(esc(text))</td>"
            }
            s += "</tr>"
        }
        s += "</table>\n<p>Runs: " + runs.map { "\(esc($0.name)) (\(esc($0.kdTarget)))" }.joined(separator: ", ")
        if !unfinished.isEmpty {
            s += "; unfinished (no metrics.json): " + unfinished.map { esc($0.name) }.joined(separator: ", ")
        }
        return s + "</p>\n"
    }

    /// One row per teacher cache the runs distil (or, when none does, per complete cache of the dataset): its
    /// accuracy and how well its rollout finds the keyword, from `cache.json`.
    func teacherRows(columns: Int, multiLabel: Bool = false) throws -> String {
        let caches = DatasetLayout(dataset).teacherCaches.compactMap { folder -> TeacherCacheInfo? in
            try? TeacherCacheInfo.load(folder)
        }
        let used = Set(runs.map(\.kdTarget) + unfinished.map(\.kdTarget))
        let shown =
            caches.contains { used.contains("teacher:\($0.fingerprint)") }
            ? caches.filter { used.contains("teacher:\($0.fingerprint)") } : caches
        return shown.map { c in
            let pct = { (v: Double?) in v.map { String(format: "%.1f %%", 100 * $0) } ?? "n/a" }
            let map = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "n/a" }
            var text =
                multiLabel
                ? "test mAP \(map(c.summary?.testMAP)), validation mAP \(map(c.summary?.validationMAP))"
                : "test \(pct(c.summary?.testAccuracy)), validation \(pct(c.summary?.validationAccuracy))"
            if let sm = c.summary {
                text += String(
                    format: "; rollout peak inside the \(multiLabel ? "events" : "speech span") %.1f %%, mass %.1f %% "
                        + "(uniform %.1f %%)",
                    100 * sm.peakInSpeech, 100 * sm.massInSpeech, 100 * sm.spanShare)
            }
            text += "; rollout row: \(c.rolloutRow?.rawValue ?? "unrecorded")"
            return "<tr><td>teacher \(esc(String(c.fingerprint.prefix(16))))</td>"
                + "<td class=teacher colspan=\(max(1, columns))>\(esc(text))</td></tr>"
        }.joined()
    }
}
