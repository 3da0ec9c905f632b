import Foundation

/// The study's HTML page: the Table 2-style table with the teacher row, test accuracy against length per
/// column (one SVG plot per student), the per-cell details and the teacher bar. Self-contained (no scripts).
public struct StudyPage {
    public let summary: StudySummary
    /// Fig. 2-style examples (already rendered SVG/HTML fragments), shown under the plots.
    public var examples: [String] = []

    public init(summary: StudySummary, examples: [String] = []) {
        self.summary = summary
        self.examples = examples
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static let palette = ["#444444", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"]

    /// Test accuracy (mean, with ± sd bars) against length, one line per column.
    func plot(student: String) -> String {
        let s = summary
        let w = 420.0, h = 260.0, left = 48.0, right = 150.0, top = 20.0, bottom = 36.0
        let rows = s.rows.filter { $0.student == student }
        let values = rows.flatMap { [$0.testMean - $0.testSD, $0.testMean + $0.testSD] }
        guard !values.isEmpty else { return "" }
        var lo = (values.min()! * 20).rounded(.down) / 20, hi = (values.max()! * 20).rounded(.up) / 20
        if hi - lo < 0.05 { hi = lo + 0.05 }
        lo = max(0, lo)
        let n = max(1, s.lengths.count - 1)
        func x(_ i: Int) -> Double { left + (w - left - right) * (s.lengths.count == 1 ? 0.5 : Double(i) / Double(n)) }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)) }
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(w))' height='\(Int(h))' role='img' "
        svg += "aria-label='test accuracy against length, \(Self.escape(student))'>"
        svg +=
            "<rect x='\(left)' y='\(top)' width='\(w - left - right)' height='\(h - top - bottom)' "
            + "fill='none' stroke='#bbb'/>"
        var tick = lo
        while tick <= hi + 1e-9 {
            svg += "<line x1='\(left - 4)' x2='\(w - right)' y1='\(y(tick))' y2='\(y(tick))' stroke='#eee'/>"
            svg +=
                "<text x='\(left - 6)' y='\(y(tick) + 4)' font-size='11' text-anchor='end'>"
                + "\(Int((tick * 100).rounded()))</text>"
            tick += 0.05
        }
        for (i, l) in s.lengths.enumerated() {
            svg +=
                "<text x='\(x(i))' y='\(h - bottom + 16)' font-size='11' text-anchor='middle'>\(Self.escape(l))</text>"
        }
        let mid = top + (h - top - bottom) / 2
        svg +=
            "<text x='12' y='\(mid)' font-size='11' transform='rotate(-90 12 \(mid))' "
            + "text-anchor='middle'>test accuracy (%)</text>"
        for (ci, column) in s.columns.enumerated() {
            let color = Self.palette[ci % Self.palette.count]
            var points: [(Double, Double, Double)] = []
            for (i, l) in s.lengths.enumerated() {
                if let r = rows.first(where: { $0.length == l && $0.column == column }) {
                    points.append((x(i) + Double(ci - s.columns.count / 2) * 3, r.testMean, r.testSD))
                }
            }
            if points.count > 1 {
                svg += "<polyline fill='none' stroke='\(color)' stroke-width='2' points='"
                svg += points.map { "\($0.0),\(y($0.1))" }.joined(separator: " ") + "'/>"
            }
            for p in points {
                svg += "<line x1='\(p.0)' x2='\(p.0)' y1='\(y(p.1 - p.2))' y2='\(y(p.1 + p.2))' stroke='\(color)'/>"
                svg += "<circle cx='\(p.0)' cy='\(y(p.1))' r='3.5' fill='\(color)'/>"
            }
            let ly = top + 14 + Double(ci) * 16
            svg +=
                "<line x1='\(w - right + 10)' x2='\(w - right + 28)' y1='\(ly - 4)' y2='\(ly - 4)' "
                + "stroke='\(color)' stroke-width='2'/>"
            svg += "<text x='\(w - right + 32)' y='\(ly)' font-size='11'>\(Self.escape(column))</text>"
        }
        return svg + "</svg>"
    }

    /// Axes of a plot: a frame, y ticks every `step` (in %), x labels, and axis titles.
    static func axes(
        w: Double, h: Double, left: Double, right: Double, top: Double, bottom: Double, lo: Double, hi: Double,
        step: Double, xLabels: [(Double, String)], xTitle: String, yTitle: String
    ) -> String {
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)) }
        var svg =
            "<rect x='\(left)' y='\(top)' width='\(w - left - right)' height='\(h - top - bottom)' "
            + "fill='none' stroke='#bbb'/>"
        var tick = (lo / step).rounded(.up) * step
        while tick <= hi + 1e-9 {
            svg += "<line x1='\(left - 4)' x2='\(w - right)' y1='\(y(tick))' y2='\(y(tick))' stroke='#eee'/>"
            svg +=
                "<text x='\(left - 6)' y='\(y(tick) + 4)' font-size='11' text-anchor='end'>"
                + "\(Int((tick * 100).rounded()))</text>"
            tick += step
        }
        for (x, label) in xLabels {
            svg += "<text x='\(x)' y='\(h - bottom + 16)' font-size='11' text-anchor='middle'>\(escape(label))</text>"
        }
        let mid = top + (h - top - bottom) / 2
        svg +=
            "<text x='12' y='\(mid)' font-size='11' transform='rotate(-90 12 \(mid))' "
            + "text-anchor='middle'>\(escape(yTitle))</text>"
        svg +=
            "<text x='\(left + (w - left - right) / 2)' y='\(h - 4)' font-size='11' text-anchor='middle'>"
            + "\(escape(xTitle))</text>"
        return svg
    }

    /// The paired gain (λ > 0 teacher columns against λ = 0) against length in seconds, with its bootstrap 95 %
    /// interval, one line per (student, schedule, column): the Table 2 trend.
    func gainPlot() -> String {
        let rows = summary.rows.filter { $0.difference != nil && $0.target == "teacher" }
        let keys = rows.reduce(into: [String]()) { out, r in
            let k = "\(r.student) · \(r.column)"
            if !out.contains(k) { out.append(k) }
        }
        let seconds = summary.lengths.compactMap { l in l.hasSuffix("s") ? Double(l.dropLast()) : nil }
        guard !rows.isEmpty, seconds.count == summary.lengths.count, let xMin = seconds.min(),
            let xMax = seconds.max()
        else { return "" }
        let w = 560.0, h = 300.0, left = 48.0, right = 230.0, top = 20.0, bottom = 40.0
        var values: [Double] = [0]
        for r in rows {
            let d: Double = r.difference!
            values.append(r.bootstrapLow ?? d)
            values.append(r.bootstrapHigh ?? d)
        }
        let lo: Double = (values.min()! * 20).rounded(.down) / 20
        let hi: Double = max(lo + 0.05, (values.max()! * 20).rounded(.up) / 20)
        func x(_ v: Double) -> Double {
            left + (w - left - right) * (xMax == xMin ? 0.5 : (v - xMin) / (xMax - xMin))
        }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)) }
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(w))' height='\(Int(h))' role='img' "
        svg += "aria-label='paired gain against length'>"
        svg += Self.axes(
            w: w, h: h, left: left, right: right, top: top, bottom: bottom, lo: lo, hi: hi, step: 0.05,
            xLabels: zip(seconds, summary.lengths).map { (x($0.0), $0.1) }, xTitle: "input length",
            yTitle: "gain over λ = 0 (points)")
        svg += "<line x1='\(left)' x2='\(w - right)' y1='\(y(0))' y2='\(y(0))' stroke='#888' stroke-dasharray='4 3'/>"
        for (ki, key) in keys.enumerated() {
            let color = Self.palette[ki % Self.palette.count]
            let mine = rows.filter { "\($0.student) · \($0.column)" == key }
            var points: [(Double, Double, Double, Double)] = []
            for r in mine {
                guard let i = summary.lengths.firstIndex(of: r.length), let d = r.difference else { continue }
                let dx = Double(ki - keys.count / 2) * 3
                points.append((x(seconds[i]) + dx, d, r.bootstrapLow ?? d, r.bootstrapHigh ?? d))
            }
            points.sort { $0.0 < $1.0 }
            if points.count > 1 {
                svg += "<polyline fill='none' stroke='\(color)' stroke-width='2' points='"
                svg += points.map { "\($0.0),\(y($0.1))" }.joined(separator: " ") + "'/>"
            }
            for p in points {
                svg += "<line x1='\(p.0)' x2='\(p.0)' y1='\(y(p.2))' y2='\(y(p.3))' stroke='\(color)'/>"
                svg += "<circle cx='\(p.0)' cy='\(y(p.1))' r='3.5' fill='\(color)'/>"
            }
            let ly = top + 14 + Double(ki) * 16
            svg +=
                "<line x1='\(w - right + 10)' x2='\(w - right + 28)' y1='\(ly - 4)' y2='\(ly - 4)' "
                + "stroke='\(color)' stroke-width='2'/>"
            svg += "<text x='\(w - right + 32)' y='\(ly)' font-size='11'>\(Self.escape(key))</text>"
        }
        return svg + "</svg>"
    }

    /// Every seed's validation curve of one (length, student, schedule): λ = 0 solid, λ > 0 dashed.
    func curvePlot(length: String, student: String, schedule: String?) -> String {
        let rows = summary.rows.filter {
            $0.length == length && $0.student == student && $0.schedule == schedule && !$0.curves.isEmpty
                && $0.curves.contains { !$0.isEmpty }
        }
        let points = rows.flatMap { $0.curves.flatMap { $0 } }.filter { $0.count == 2 }
        guard !points.isEmpty, let maxStep = points.map({ $0[0] }).max(), maxStep > 0 else { return "" }
        let w = 420.0, h = 240.0, left = 48.0, right = 150.0, top = 20.0, bottom = 40.0
        let lo = (points.map { $0[1] }.min()! * 10).rounded(.down) / 10
        let hi = max(lo + 0.1, (points.map { $0[1] }.max()! * 10).rounded(.up) / 10)
        func x(_ v: Double) -> Double { left + (w - left - right) * v / maxStep }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)) }
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(w))' height='\(Int(h))' role='img' "
        svg += "aria-label='validation curves, \(Self.escape(length)) \(Self.escape(student))'>"
        let ticks = (0...4).map { Double($0) * maxStep / 4 }
        svg += Self.axes(
            w: w, h: h, left: left, right: right, top: top, bottom: bottom, lo: lo, hi: hi, step: 0.1,
            xLabels: ticks.map { (x($0), String(Int($0))) }, xTitle: "step", yTitle: "validation accuracy (%)")
        for (ri, r) in rows.enumerated() {
            let color = Self.palette[ri % Self.palette.count]
            let dash = r.lambda > 0 ? " stroke-dasharray='5 3'" : ""
            for curve in r.curves where curve.count > 1 {
                svg += "<polyline fill='none' stroke='\(color)' stroke-width='1.5'\(dash) points='"
                svg += curve.filter { $0.count == 2 }.map { "\(x($0[0])),\(y($0[1]))" }.joined(separator: " ") + "'/>"
            }
            let ly = top + 14 + Double(ri) * 16
            svg +=
                "<line x1='\(w - right + 10)' x2='\(w - right + 28)' y1='\(ly - 4)' y2='\(ly - 4)' "
                + "stroke='\(color)' stroke-width='2'\(dash)/>"
            svg +=
                "<text x='\(w - right + 32)' y='\(ly)' font-size='11'>"
                + "\(Self.escape(StudySummary.baseLabel(r)))</text>"
        }
        return svg + "</svg>"
    }

    static func markdownToHTML(_ md: String) -> String {
        var html = ""
        var inTable = false
        for line in md.split(separator: "\n", omittingEmptySubsequences: false) {
            let l = String(line)
            if l.hasPrefix("|") {
                let cells = l.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                if cells.allSatisfy({ $0.allSatisfy { $0 == "-" } }) { continue }
                if !inTable {
                    html +=
                        "<table><tr>"
                        + cells.map { "<th>\(escape(String($0).trimmingCharacters(in: .whitespaces)))</th>" }.joined()
                        + "</tr>"
                    inTable = true
                } else {
                    html +=
                        "<tr>"
                        + cells.map { "<td>\(escape(String($0).trimmingCharacters(in: .whitespaces)))</td>" }.joined()
                        + "</tr>"
                }
            } else {
                if inTable { html += "</table>" }
                inTable = false
            }
        }
        if inTable { html += "</table>" }
        return html
    }

    public func html() -> String {
        let s = summary
        let seedList = s.seeds.map(String.init).joined(separator: ", ")
        var out = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>tkd study \(Self.escape(s.study))</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
            table{border-collapse:collapse;margin:1em 0;font-size:13px}
            td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
            th{background:#f4f4f4}.plots{display:flex;flex-wrap:wrap;gap:1em}.note{color:#555;font-size:13px}
            </style></head><body>
            <h1>Study “\(Self.escape(s.study))”: does temporal distillation help?</h1>
            <p class="note">Test accuracy (%), mean ± sd over seeds \(seedList). \
            For λ &gt; 0: the paired difference to λ = 0 (same seed, same test examples) and its 95 % \
            interval from a \
            two-level bootstrap (\(s.bootstrapReplicates) replicates: seeds, then test examples, with replacement). \
            † the length's teacher is below the bar. Everything was selected by validation accuracy.</p>
            <h2>Table 2 layout</h2>
            """
        out += Self.markdownToHTML(s.markdownTable)
        for schedule in s.schedules {
            let t = s.markdownTable2(schedule: schedule)
            guard !t.isEmpty else { continue }
            out += "<h2>Table 2 layout: \(Self.escape(schedule ?? "default")) schedule</h2>" + Self.markdownToHTML(t)
            if s.rows.contains(where: { $0.schedule == schedule && $0.realSpeech != nil }) {
                out +=
                    "<h3>On real speech</h3>"
                    + Self.markdownToHTML(s.markdownTable2(schedule: schedule, realSpeech: true))
            }
        }
        let gain = gainPlot()
        if !gain.isEmpty {
            out += "<h2>Gain against length</h2><p class='note'>The paired gain over λ = 0 with its bootstrap 95 % "
            out += "interval.</p>\(gain)" + Self.markdownToHTML(s.markdownTrends)
        }
        var curves = ""
        for length in s.lengths {
            for student in s.students {
                for schedule in s.schedules {
                    let c = curvePlot(length: length, student: student, schedule: schedule)
                    guard !c.isEmpty else { continue }
                    curves +=
                        "<figure><figcaption>\(Self.escape(length)) \(Self.escape(student)), "
                        + "\(Self.escape(schedule ?? "default")) schedule</figcaption>\(c)</figure>"
                }
            }
        }
        if !curves.isEmpty {
            out +=
                "<h2>Validation curves</h2><p class='note'>Every seed; λ = 0 solid, λ &gt; 0 dashed. Convergence "
                + "rule: \(Self.escape(s.convergenceRule)).</p><div class='plots'>\(curves)</div>"
                + Self.markdownToHTML(s.markdownConvergence)
        }
        out += "<h2>The paper's Table 2</h2>" + Self.markdownToHTML(StudySummary.paperTable2)
        out += "<h2>Accuracy against length</h2><div class='plots'>"
        for student in s.students {
            out += "<figure><figcaption>\(Self.escape(student))</figcaption>\(plot(student: student))</figure>"
        }
        out += "</div>"
        if !examples.isEmpty {
            out +=
                "<p class='note'>Below: test examples at the longest length, with the teacher's rollout and the "
                + "attention of the first seed's distilled runs.</p>" + examples.joined()
        }
        out += "<h2>Every cell</h2>" + Self.markdownToHTML(s.markdownDetails)
        if !s.missing.isEmpty {
            out += "<h2>Missing</h2><ul>" + s.missing.map { "<li>\(Self.escape($0))</li>" }.joined() + "</ul>"
        }
        return out + "</body></html>\n"
    }
}
