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
            for (i, column) in columns.enumerated() {
                var line = "| \(i == 0 ? student : "") | \(column) |"
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
        for t in teachers {
            s +=
                "| \(t.length) | \(t.made) | \(t.validationAccuracy.map(Self.pct) ?? "–") | "
                + "\(t.testAccuracy.map(Self.pct) ?? "–") | \(t.validationMass.map(Self.pct) ?? "–") "
                + "(\(t.spanShare.map(Self.pct) ?? "–")) | \(t.validationPeak.map(Self.pct) ?? "–") | "
                + "\(t.metBar.map { $0 ? "met" : "not met" } ?? "pending"): \(t.barReason ?? "") |\n"
        }
        return s
    }
}
