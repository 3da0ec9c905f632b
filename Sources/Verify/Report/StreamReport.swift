import DatasetFormat
import Foundation
import TKDCore

/// `tkd report` of a stream dataset: one self-contained HTML page (inline SVG) of detector runs
/// (`stream-metrics.json` from `tkd evaluate --stream`): their DET curves on one plot, a table of FRR at fixed
/// FA/hr, area and latency, the latency histograms, and a timeline of one stream with its events shaded, every run's
/// smoothed score and its detections marked.
public struct StreamReport {
    public var dataset: URL
    /// (name, metrics) per run, in the order given.
    public var runs: [(name: String, metrics: StreamMetrics)]

    public init(dataset: URL, runs: [(name: String, metrics: StreamMetrics)]) {
        self.dataset = dataset
        self.runs = runs
    }

    /// - Throws: `DatasetFormatError` for the dataset; `DatasetFormatError.invalidFile` for a run measured on other
    ///   manifests.
    public func html() throws -> String {
        let info = try DatasetInfo.load(dataset)
        let manifests = try ManifestFingerprint.sha256(dataset: dataset)
        for run in runs where run.metrics.manifestsSHA256 != manifests {
            throw DatasetFormatError.invalidFile(
                path: run.name,
                reason: "was measured on manifests \(run.metrics.manifestsSHA256.prefix(12))…; \(dataset.path) has "
                    + "\(manifests.prefix(12))…")
        }
        let records = try StreamRecord.loadAll(dataset: dataset)
        var page =
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>\(esc(info.name)): detectors</title>"
            + "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
            + "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child"
            + "{text-align:left}</style></head><body><h1>\(esc(info.name)): the students as detectors</h1>"
        if let s = info.streams {
            let parts = Split.allCases.compactMap { split in
                s[split.rawValue].map {
                    "\(split.rawValue): \($0.streams) streams, " + String(format: "%.2f h", $0.seconds / 3600)
                        + String(format: " (%.2f h negative), ", $0.negativeSeconds / 3600)
                        + "\($0.targets) targets, \($0.distractors) distractors"
                }
            }
            page += "<p>\(esc(parts.joined(separator: "; ")))</p>"
        }
        page += table()
        // DET: FRR against FA/hr, pooled, every run; the x axis cut at 10 FA/hr where the curves matter (unless
        // some run has fewer than two points there: a stream set too short for low rates).
        func det(_ limit: Double) -> [(String, [(Double, Double)])] {
            runs.map { run in
                (
                    run.name,
                    zip(run.metrics.pooled.faPerHour, run.metrics.pooled.frr).filter { $0.0 <= limit }
                        .sorted { $0.0 < $1.0 }.map { ($0.0, $0.1) }
                )
            }
        }
        let cut = det(10).allSatisfy { $0.1.count >= 2 }
        page +=
            "<h2>DET curves (pooled)</h2><p>false-reject rate against false accepts per hour"
            + (cut ? ", up to 10 FA/h" : ", the whole sweep (too few hours for low rates)") + "</p>"
        page += DatasetReport.lines(det(cut ? 10 : .infinity), title: "FRR against FA/h", x: "FA/h")
        page += "<h2>Detection latency at each run's threshold</h2><p>window end minus the keyword's speech offset</p>"
        for run in runs {
            page += DatasetReport.histogram(
                run.metrics.hitsAtThreshold.latenciesSeconds,
                title: "\(run.name) (threshold \(run.metrics.hitsAtThreshold.threshold)), seconds", bins: 20)
        }
        if let id = runs.first?.metrics.timeline?.stream, let record = records.first(where: { $0.id == id }) {
            page += "<h2>Timeline of \(esc(id))</h2>" + timeline(record)
        }
        return page + "</body></html>"
    }

    func table() -> String {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }
        func sec(_ x: Double?) -> String { x.map { String(format: "%.2f s", $0) } ?? "–" }
        var s =
            "<table><tr><th>run</th><th>targets</th><th>hours</th><th>FRR @0.5 FA/h</th><th>FRR @1 FA/h</th>"
            + "<th>AUC to 2 FA/h</th><th>latency median</th><th>p90</th><th>attention peak in speech (uniform)</th>"
            + "</tr>"
        for run in runs {
            let m = run.metrics, h = m.hitsAt1FAPerHour ?? m.hitsAtThreshold
            s +=
                "<tr><td>\(esc(run.name))</td><td>\(m.pooled.targets)</td>"
                + String(format: "<td>%.2f</td>", m.hours) + "<td>\(pct(m.pooled.frrAt05FAPerHour))</td>"
                + "<td>\(pct(m.pooled.frrAt1FAPerHour))</td>"
                + "<td>\(m.pooled.aucTo2FAPerHour.map { String(format: "%.3f", $0) } ?? "–")</td>"
                + "<td>\(sec(h.latencyMedianSeconds))</td><td>\(sec(h.latencyP90Seconds))</td>"
                + "<td>\(pct(h.peakInSpan)) (\(pct(h.uniformPeakInSpan)))</td></tr>"
        }
        return s
            + "</table><p>Latency and localisation at the 1-FA/h threshold where a run reaches it, else at its "
            + "detector threshold.</p>"
    }

    /// The stream's events shaded (targets blue, distractors grey, silences hatched), each run's highest smoothed
    /// score per window, and its detections at its threshold (filled: hits; open: false accepts).
    func timeline(_ r: StreamRecord) -> String {
        let (w, left) = (1000.0, 40.0), laneH = 90.0
        let duration = r.seconds, rate = Double(r.sampleRate)
        func px(_ t: Double) -> Double { left + w * t / duration }
        let height = 30 + laneH * Double(max(1, runs.count)) + 30
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w + left + 10))\" height=\"\(Int(height))\">"
        for e in r.events {
            let a = Double(e.placement.speechOnsetSample) / rate, b = Double(e.placement.speechOffsetSample) / rate
            let fill = e.kind == .target ? "#9ecae1" : "#d9d9d9"
            s += String(
                format: "<rect x=\"%.1f\" y=\"20\" width=\"%.1f\" height=\"%.0f\" fill=\"%@\"/>", px(a),
                max(1, px(b) - px(a)), height - 50, fill)
            s += String(format: "<text x=\"%.1f\" y=\"16\" font-size=\"10\">%@</text>", px(a), esc(e.word))
        }
        for x in r.silences {
            let a = Double(x.onsetSample) / rate, b = Double(x.offsetSample) / rate
            s += String(
                format: "<rect x=\"%.1f\" y=\"20\" width=\"%.1f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\" "
                    + "stroke-dasharray=\"3,3\"/>", px(a), px(b) - px(a), height - 50)
        }
        for (i, run) in runs.enumerated() {
            guard let t = run.metrics.timeline, t.stream == r.id else { continue }
            let top = 20 + laneH * Double(i), c = DatasetReport.palette[i % DatasetReport.palette.count]
            func py(_ v: Double) -> Double { top + laneH - 10 - (laneH - 20) * v }
            s +=
                "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.2\" points=\""
                + zip(t.windowEndsSeconds, t.maxScore).map { String(format: "%.1f,%.1f", px($0), py(Double($1))) }
                .joined(separator: " ") + "\"/>"
            let threshold = run.metrics.detector.threshold
            s += String(
                format:
                    "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%@\" stroke-dasharray=\"2,4\"/>",
                left, py(threshold), left + w, py(threshold), c)
            for d in t.detections {
                s += String(
                    format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\" stroke=\"%@\"><title>%@ %.2f s%@"
                        + "</title></circle>", px(d.timeSeconds), py(threshold), d.hit ? c : "white", c,
                    esc(d.label), d.timeSeconds, d.hit ? "" : " (false accept)")
            }
            s += "<text x=\"0\" y=\"\(Int(top + 12))\" fill=\"\(c)\" font-size=\"11\">\(esc(run.name))</text>"
        }
        s += String(
            format:
                "<text x=\"%.0f\" y=\"%.0f\">0 s</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.0f s</text>",
            left, height - 8, left + w, height - 8, duration)
        return s + "</svg><p>Shaded: the keywords' speech spans (blue: targets, grey: distractors); dashed boxes: "
            + "silences. Lines: each run's highest smoothed probability; circles at its threshold: detections "
            + "(filled: hits, open: false accepts).</p>"
    }
}
