import Foundation

extension StudySummary {
    static func pct(_ x: Double) -> String { String(format: "%.1f", 100 * x) }
    static func signed(_ x: Double) -> String { String(format: "%+.1f", 100 * x) }

    /// The Table 2-style table (test accuracy, mean ± sd over seeds; for λ > 0 the paired difference to λ = 0
    /// with its bootstrap 95 % interval) and the teacher row.
    public var markdownTable: String {
        var s = "| student | column | " + lengths.joined(separator: " | ") + " |\n"
        s += "|---|---|" + lengths.map { _ in "---|" }.joined() + "\n"
        for student in students {
            var first = true
            for column in columns where rows.contains(where: { $0.student == student && $0.column == column }) {
                var line = "| \(first ? student : "") | \(column) |"
                first = false
                for length in lengths {
                    guard
                        let r = rows.first(where: {
                            $0.length == length && $0.student == student && $0.column == column
                        })
                    else {
                        line += " – |"
                        continue
                    }
                    var cell = "\(Self.pct(r.testMean)) ± \(Self.pct(r.testSD))"
                    if r.seeds.count != seeds.count { cell += " (n = \(r.seeds.count))" }
                    if let d = r.difference {
                        cell += " (\(Self.signed(d))"
                        if let lo = r.bootstrapLow, let hi = r.bootstrapHigh {
                            cell += " [\(Self.signed(lo)), \(Self.signed(hi))]"
                        }
                        cell += ")"
                    }
                    if r.teacherMetBar == false { cell += " †" }
                    line += " \(cell) |"
                }
                s += line + "\n"
            }
        }
        var line = "| teacher | validation / test, rollout peak in span |"
        for length in lengths {
            guard let t = teachers.first(where: { $0.length == length }) else {
                line += " – |"
                continue
            }
            line +=
                " \(t.validationAccuracy.map(Self.pct) ?? "–") / \(t.testAccuracy.map(Self.pct) ?? "–"), "
                + "\(t.validationPeak.map(Self.pct) ?? "–") %\(t.metBar == false ? " †" : "") |"
        }
        s += line + "\n"
        return s
    }

    /// Per length and student: every column's figures, the t-interval too, and the attention's localisation.
    public var markdownDetails: String {
        var s =
            "| length | student | column | seeds | validation | test | Δ test vs λ = 0 | bootstrap 95 % | t 95 % "
            + "| attention mass in span (own / KD head) | peak in span (own / KD head) | best steps |\n"
        s += "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for r in rows {
            func heads(_ m: [String: Double]) -> String {
                "\(m["own"].map(Self.pct) ?? "–") / \(m["kd_head"].map(Self.pct) ?? "–")"
            }
            let boot = r.bootstrapLow.map { "[\(Self.signed($0)), \(Self.signed(r.bootstrapHigh!))]" } ?? "–"
            let t = r.tLow.map { "[\(Self.signed($0)), \(Self.signed(r.tHigh!))]" } ?? "–"
            s +=
                "| \(r.length) | \(r.student) | \(r.column) | \(r.seeds.count) | \(Self.pct(r.validationMean)) | "
                + "\(Self.pct(r.testMean)) ± \(Self.pct(r.testSD)) | \(r.difference.map(Self.signed) ?? "–") "
                + "| \(boot) "
                + "| \(t) | \(heads(r.attentionMass)) | \(heads(r.attentionPeak)) | "
                + "\(r.bestSteps.map(String.init).joined(separator: ", ")) of \(r.steps) |\n"
        }
        s += "\n| length | teacher | validation | test | rollout mass in span (uniform) | peak in span | bar |\n"
        s += "|---|---|---|---|---|---|---|\n"
        func several(_ t: TeacherRow) -> Bool { teachers.filter { $0.length == t.length }.count > 1 }
        for t in teachers {
            s +=
                "| \(t.length) | \(t.made)\(several(t) ? ", cache \(t.fingerprint?.prefix(12) ?? "–")" : "") | "
                + "\(t.validationAccuracy.map(Self.pct) ?? "–") | "
                + "\(t.testAccuracy.map(Self.pct) ?? "–") | \(t.validationMass.map(Self.pct) ?? "–") "
                + "(\(t.spanShare.map(Self.pct) ?? "–")) | \(t.validationPeak.map(Self.pct) ?? "–") | "
                + "\(Self.bars(t)) |\n"
        }
        return s
    }

    /// The teacher's bar per schedule ("met: …" with one schedule; "default: met: …; converged: not met: …").
    static func bars(_ t: TeacherRow) -> String {
        func text(_ met: Bool?, _ reason: String) -> String {
            "\(met.map { $0 ? "met" : "not met" } ?? "pending"): \(reason)"
        }
        guard t.bars.count > 1 else {
            return t.bars.first.map { text($0.met, $0.reason) } ?? text(t.metBar, t.barReason ?? "")
        }
        return t.bars.map { "\($0.schedule ?? "default") schedule, \(text($0.met, $0.reason))" }.joined(separator: "; ")
    }

    /// The whole study page in Markdown (without provenance): the Table 2 layout per schedule, on the test split
    /// and on real speech, the paper's table, trends and λ selection, convergence, per-seed gains, every cell.
    public var markdown: String {
        var s = ""
        for schedule in schedules {
            let name = schedule ?? "default"
            let t = markdownTable2(schedule: schedule)
            guard !t.isEmpty else { continue }
            s += "## Table 2 layout: \(name) schedule, test split\n\n" + Self.table2Note + "\n\n" + t + "\n"
            let r = markdownTable2(schedule: schedule, realSpeech: true)
            if rows.contains(where: { $0.schedule == schedule && $0.realSpeech != nil }) {
                s += "## Table 2 layout: \(name) schedule, real speech\n\n" + Self.table2Note + "\n\n" + r + "\n"
            }
        }
        s += "## The paper's Table 2 (for the shape, not the level)\n\n" + Self.paperTable2 + "\n"
        let trends = markdownTrends
        if !trends.isEmpty { s += "## Gain against length, and λ chosen on validation\n\n" + trends + "\n" }
        s += "## Convergence\n\nRule: \(convergenceRule).\n\n" + markdownConvergence + "\n"
        s += "## Per-seed gains\n\n" + markdownSeedGains + "\n"
        s += "## Every column\n\n" + markdownTable + "\n" + markdownDetails + "\n"
        return s
    }

    static let table2Note =
        "Accuracy (%), mean ± sd over seeds; for λ > 0 (teacher target) the paired difference to λ = 0 and its "
        + "bootstrap 95 % interval; **bold**: the λ chosen on validation; † the length's teacher is below the bar."

    /// The schedules that have rows, in row order (nil: the default).
    public var schedules: [String?] {
        var out: [String?] = []
        for r in rows where !out.contains(r.schedule) { out.append(r.schedule) }
        return out
    }

    /// The paper's Table 2 layout for one schedule and the teacher target: per length a teacher row and the
    /// students; columns λ = 0 and every λ > 0 that was run. Test accuracy (or, with `realSpeech`, accuracy on the
    /// real-speech test sets), mean ± sd over seeds; for λ > 0 the paired difference to λ = 0 with its bootstrap
    /// 95 % interval; **bold**: the λ selected on validation where several were run.
    public func markdownTable2(schedule: String?, realSpeech: Bool = false) -> String {
        let mine = rows.filter { $0.schedule == schedule && ($0.lambda == 0 || $0.target == "teacher") }
        let lambdas = Array(Set(mine.map(\.lambda))).sorted()
        guard !mine.isEmpty else { return "" }
        var s = "| length | model | " + lambdas.map { "λ = \(StudyRecipe.Cell.short($0))" }.joined(separator: " | ")
        s += " |\n|---|---|" + lambdas.map { _ in "---|" }.joined() + "\n"
        for length in lengths where mine.contains(where: { $0.length == length }) {
            let t =
                teachers.first { $0.length == length && $0.bar(schedule) != nil }
                ?? teachers.first { $0.length == length }
            let teacherFigure = realSpeech ? t?.realSpeechAccuracy : t?.testAccuracy
            let below = t?.bar(schedule)?.met == false ? " †" : ""
            s += "| \(length) | teacher | \(teacherFigure.map(Self.pct) ?? "–")\(below)"
            s += lambdas.dropFirst().map { _ in " | " }.joined() + " |\n"
            for student in students {
                let rs = mine.filter { $0.length == length && $0.student == student }
                guard !rs.isEmpty else { continue }
                var line = "| | \(student) |"
                for l in lambdas {
                    guard let r = rs.first(where: { $0.lambda == l }) else {
                        line += " – |"
                        continue
                    }
                    var cell: String
                    if realSpeech {
                        guard let rr = r.realSpeech else {
                            line += " – |"
                            continue
                        }
                        cell = "\(Self.pct(rr.mean)) ± \(Self.pct(rr.sd))"
                        if rr.seeds.count != seeds.count { cell += " (n = \(rr.seeds.count))" }
                        if let d = rr.difference {
                            cell += " (\(Self.signed(d))"
                            if let lo = rr.bootstrapLow, let hi = rr.bootstrapHigh {
                                cell += " [\(Self.signed(lo)), \(Self.signed(hi))]"
                            }
                            cell += ")"
                        }
                    } else {
                        cell = "\(Self.pct(r.testMean)) ± \(Self.pct(r.testSD))"
                        if r.seeds.count != seeds.count { cell += " (n = \(r.seeds.count))" }
                        if let d = r.difference {
                            cell += " (\(Self.signed(d))"
                            if let lo = r.bootstrapLow, let hi = r.bootstrapHigh {
                                cell += " [\(Self.signed(lo)), \(Self.signed(hi))]"
                            }
                            cell += ")"
                        }
                    }
                    if r.selected == true { cell = "**\(cell)**" }
                    if r.teacherMetBar == false { cell += " †" }
                    line += " \(cell) |"
                }
                s += line + "\n"
            }
        }
        return s
    }

    /// Per cell: best step of each seed, the late gain by the convergence rule, and whether it plateaued.
    public var markdownConvergence: String {
        var s = "| length | student | schedule | column | steps | best step per seed | late gain per seed (points) "
        s += "| plateaued |\n|---|---|---|---|---|---|---|---|\n"
        for r in rows {
            let gains = r.lateGain.map { $0.map { String(format: "%+.1f", 100 * $0) } ?? "–" }
            let status: String
            if r.converged.isEmpty || r.converged.allSatisfy({ $0 == nil }) {
                status = "no curve"
            } else {
                let yes = r.converged.filter { $0 == true }.count
                status = yes == r.converged.count ? "all \(yes)" : "\(yes) of \(r.converged.count)"
            }
            s +=
                "| \(r.length) | \(r.student) | \(r.schedule ?? "default") | \(Self.baseLabel(r)) | \(r.steps) | "
                + "\(r.bestSteps.map(String.init).joined(separator: ", ")) | \(gains.joined(separator: ", ")) "
                + "| \(status) |\n"
        }
        return s
    }

    /// Per distilled row: each seed's paired gain on the test split and on real speech.
    public var markdownSeedGains: String {
        var s = "| length | student | schedule | column | test Δ per seed | t 95 % | real speech Δ per seed "
        s += "| real speech bootstrap 95 % |\n|---|---|---|---|---|---|---|---|\n"
        for r in rows where r.lambda > 0 {
            let test = r.seedDifferences.map { $0.map(Self.signed).joined(separator: ", ") } ?? "–"
            let t = r.tLow.map { "[\(Self.signed($0)), \(Self.signed(r.tHigh!))]" } ?? "–"
            let real = r.realSpeech?.seedDifferences.map { $0.map(Self.signed).joined(separator: ", ") } ?? "–"
            let realCI =
                r.realSpeech?.bootstrapLow.map { "[\(Self.signed($0)), \(Self.signed(r.realSpeech!.bootstrapHigh!))]" }
                ?? "–"
            s +=
                "| \(r.length) | \(r.student) | \(r.schedule ?? "default") | \(Self.baseLabel(r)) | \(test) | \(t) "
                + "| \(real) | \(realCI) |\n"
        }
        return s
    }

    /// The gain-against-length slopes, and the λ selections.
    public var markdownTrends: String {
        var s = ""
        if !trends.isEmpty {
            s += "| student | schedule | column | lengths | paired gain per length | slope (points per second) "
            s += "[bootstrap 95 %] |\n|---|---|---|---|---|---|\n"
            for t in trends {
                s +=
                    "| \(t.student) | \(t.schedule ?? "default") | \(t.column) | "
                    + "\(t.lengths.joined(separator: ", ")) | \(t.gains.map(Self.signed).joined(separator: ", ")) | "
                    + String(format: "%+.2f [%+.2f, %+.2f]", 100 * t.slopePerSecond, 100 * t.low, 100 * t.high)
                    + " |\n"
            }
        }
        if !selections.isEmpty {
            s += "\n| length | student | schedule | target | λ: mean validation accuracy | selected |\n"
            s += "|---|---|---|---|---|---|\n"
            for x in selections {
                let v = zip(x.lambdas, x.validationMeans).map { "\(StudyRecipe.Cell.short($0.0)): \(Self.pct($0.1))" }
                s +=
                    "| \(x.length) | \(x.student) | \(x.schedule ?? "default") | \(x.target) | "
                    + "\(v.joined(separator: ", ")) | λ = \(StudyRecipe.Cell.short(x.selected)) |\n"
            }
        }
        return s
    }

    /// A row's column without its schedule.
    static func baseLabel(_ r: Row) -> String {
        StudyRecipe.Cell(lambda: r.lambda, target: r.target).label
    }

    /// The paper's Table 2 (Choi et al., ICASSP 2022; `../shared/paper/tbl2_audio_length_scores.png`): test
    /// accuracy on the authors' Noisy Speech Commands v2, for the shape of the result, not its level.
    public static let paperTable2: String = {
        let rows: [(String, [String: [Double]])] = [
            (
                "2s",
                [
                    "teacher": [90.59], "lstm-p": [88.73, 88.98, 89.31, 88.92],
                    "tc-resnet": [87.77, 88.08, 86.21, 86.27], "crnn": [89.96, 90.06, 90.00, 89.46],
                    "att-rnn": [89.88, 91.31, 91.67, 90.94], "mhatt-rnn": [89.75, 91.25, 91.67, 91.75],
                ]
            ),
            (
                "4s",
                [
                    "teacher": [91.22], "lstm-p": [85.19, 88.23, 88.52, 89.08],
                    "tc-resnet": [87.60, 88.33, 87.21, 84.62], "crnn": [89.69, 89.44, 89.46, 90.21],
                    "att-rnn": [90.65, 91.98, 91.79, 91.58], "mhatt-rnn": [91.19, 91.58, 92.12, 91.73],
                ]
            ),
            (
                "6s",
                [
                    "teacher": [90.93], "lstm-p": [45.27, 69.21, 85.58, 85.10],
                    "tc-resnet": [86.00, 86.85, 84.23, 82.10], "crnn": [88.58, 89.88, 89.29, 89.46],
                    "att-rnn": [90.88, 90.77, 90.73, 91.19], "mhatt-rnn": [90.58, 90.96, 91.67, 91.10],
                ]
            ),
            (
                "8s",
                [
                    "teacher": [90.95], "lstm-p": [78.44, 82.19, 34.58, 66.25],
                    "tc-resnet": [77.81, 85.79, 85.71, 80.15], "crnn": [88.94, 89.02, 89.79, 89.77],
                    "att-rnn": [88.81, 90.44, 90.98, 90.75], "mhatt-rnn": [88.33, 91.50, 91.79, 91.35],
                ]
            ),
        ]
        var s = "| length | model | λ = 0 | λ = 0.1 | λ = 0.25 | λ = 0.5 |\n|---|---|---|---|---|---|\n"
        for (length, table) in rows {
            s += "| \(length) | teacher | \(String(format: "%.2f", table["teacher"]![0])) | | | |\n"
            for student in StudyRecipe.studentNames {
                let v = table[student]!
                let best = v.dropFirst().max()!
                let cells = v.enumerated().map { i, x -> String in
                    let f = String(format: "%.2f", x)
                    return i > 0 && x == best ? "**\(f)**" : f
                }
                s += "| | \(student) | " + cells.joined(separator: " | ") + " |\n"
            }
        }
        return s
    }()
}
