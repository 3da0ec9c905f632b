import AudioIO
import DatasetFormat
import Features
import Foundation
import TKDCore
import TensorStore

/// A training run as the report shows it (the CLI reads run folders and computes the attention).
public struct ReportRun: Sendable {
    public var name: String
    public var student: String
    public var kdLambda: Double
    public var kdTarget: String
    public var validationAccuracy: Double
    public var testAccuracy: Double
    /// (step, validation accuracy, train loss) per validation.
    public var history: [(step: Int, validation: Double, loss: Double)]
    /// The student's attention over its context steps for the report's example (nil without a KD head).
    public var attention: [Float]?
    /// The run's seed (from its config.json), for the expected grid.
    public var seed: UInt64?
    /// Multi-label runs: validation and test macro mAP (the Table 1 figure); nil for single-label runs.
    public var validationMAP: Double?
    public var testMAP: Double?

    public init(
        name: String, student: String, kdLambda: Double, kdTarget: String, validationAccuracy: Double,
        testAccuracy: Double,
        history: [(step: Int, validation: Double, loss: Double)], attention: [Float]?, seed: UInt64? = nil,
        validationMAP: Double? = nil, testMAP: Double? = nil
    ) {
        self.name = name
        self.student = student
        self.kdLambda = kdLambda
        self.kdTarget = kdTarget
        self.validationAccuracy = validationAccuracy
        self.testAccuracy = testAccuracy
        self.history = history
        self.attention = attention
        self.seed = seed
        self.validationMAP = validationMAP
        self.testMAP = testMAP
    }

    /// The table's figure: test mAP for a multi-label run, else test accuracy.
    var testScore: Double { testMAP ?? testAccuracy }
}

/// `tkd report`: one self-contained HTML page with inline SVG figures — a Fig. 2-style view of one example
/// (log-mel with the keyword's speech span shaded, the teacher's rollout, each student's attention), the
/// SNR / onset / length distributions, the class table, training curves and a Table 2-style accuracy table.
public struct DatasetReport {
    public var dataset: URL
    public var runs: [ReportRun] = []
    /// Run folders without metrics.json (stopped, timed out or running), listed against the expected grid.
    public var unfinished: [UnfinishedRun] = []
    /// The protocol's cells: each is listed, and missing or incomplete ones are marked.
    public var expected: ExpectedGrid?
    /// The example of the Fig. 2-style figure (default: the first test example with a keyword).
    public var exampleID: String?

    public init(dataset: URL) { self.dataset = dataset }

    /// The example the report plots.
    public static func defaultExample(_ records: [ExampleRecord]) -> ExampleRecord? {
        records.first { $0.split == .testing && !$0.evidenceSpans.isEmpty }
            ?? records.first { !$0.evidenceSpans.isEmpty }
    }

    /// The Fig. 2-style section for one example (the dataset's first teacher cache's rollout and the runs'
    /// attention), for pages that embed it; `heading: false` leaves out the section heading (for the second
    /// and later examples of a page).
    public func figure2HTML(example id: String, heading: Bool = true) throws -> String {
        let info = try DatasetInfo.load(dataset)
        guard let r = try DatasetInfo.loadManifests(dataset).first(where: { $0.id == id && !$0.evidenceSpans.isEmpty })
        else {
            throw CoreError.invalidValue(
                field: "example", value: id,
                expected: "the id of an example with a keyword or events in \(dataset.path)")
        }
        return try figure2(r, info: info, heading: heading)
    }

    public func html() throws -> String {
        let info = try DatasetInfo.load(dataset)
        let records = try DatasetInfo.loadManifests(dataset)
        guard let example = exampleID.map({ id in records.first { $0.id == id } }) ?? Self.defaultExample(records)
        else {
            throw CoreError.invalidValue(
                field: "--example", value: exampleID ?? "(none)",
                expected: "the id of an example with a keyword or events in \(dataset.path)")
        }
        var body = ""
        body += "<h1>TemporalKD report: \(esc(info.name))</h1>\n"
        body +=
            "<p>\(esc(dataset.path)) · \(records.count) examples · \(info.labels.count) classes · "
            + "\(info.sampleRate) Hz · \(esc(TKDVersion.current))</p>\n"
        body += try figure2(example, info: info)
        body += "<h2>Distributions</h2>\n<div class=row>"
        if info.isMultiLabel {
            // A clip dataset: how many labels an example carries and where its recorded events start.
            body += Self.histogram(records.map { Double($0.allLabels.count) }, title: "labels per example", bins: 5)
            body += Self.histogram(
                records.flatMap { r in (r.events ?? []).map { Double($0.onsetSample) / Double(r.sampleRate) } },
                title: "event onset (s)", bins: 20)
        } else {
            let snr = records.compactMap(\.snrDBAchieved)
            body += Self.histogram(snr, title: "achieved SNR (dB)", bins: 20)
            body += Self.histogram(
                records.compactMap { r in r.keyword.map { Double($0.onsetSample) / Double(r.sampleRate) } },
                title: "keyword onset (s)", bins: 20)
        }
        body += Self.histogram(
            records.map { Double($0.numSamples) / Double(info.sampleRate) }, title: "example length (s)", bins: 10)
        body += "</div>\n"
        body += classTable(info)
        if !runs.isEmpty || expected != nil {
            body += "<h2>Training curves</h2>\n<div class=row>"
            body += Self.lines(
                runs.map { ($0.name, $0.history.map { (Double($0.step), $0.validation) }) },
                title: info.isMultiLabel ? "validation mAP" : "validation accuracy", x: "step")
            body += Self.lines(
                runs.map { ($0.name, $0.history.map { (Double($0.step), $0.loss) }) }, title: "train loss", x: "step")
            body += "</div>\n"
            body += try table2(multiLabel: info.isMultiLabel)
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>TemporalKD report: \(esc(info.name))</title>
            <style>
            body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
            table { border-collapse: collapse; margin: 1em 0; } \
            td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
            th:first-child, td:first-child { text-align: left; } .row { display: flex; flex-wrap: wrap; gap: 1em; }
            svg text { font-size: 11px; font-family: sans-serif; } figcaption { font-size: 13px; color: #555; }
            td.missing, p.missing { color: #a00; background: #fde8e8; } td.teacher { text-align: left; }
            </style></head><body>
            \(body)
            </body></html>

            """
    }

    // MARK: Fig. 2

    func figure2(_ r: ExampleRecord, info: DatasetInfo, heading: Bool = true) throws -> String {
        let audio = try AudioReader.read(
            DatasetLayout(dataset).audio(r),
            options: AudioReadOptions(sampleRate: info.sampleRate, allowResample: false))
        let config = FrontEndPreset.logmel40.config(sampleRate: info.sampleRate)
        let logmel = try FrontEnd(config).features(audio.samples)
        let bands = 40, frames = logmel.count / bands
        let duration = Double(r.numSamples) / Double(info.sampleRate)
        let (w, h, left) = (900.0, 160.0, 60.0)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w + left + 20))\" height=\"\(Int(h + 30))\">"
        // Log-mel as a heat map (low bands at the bottom).
        let lo = logmel.min() ?? 0, hi = logmel.max() ?? 1
        let cw = w / Double(frames), ch = h / Double(bands)
        for t in 0..<frames {
            for b in 0..<bands {
                let v = (Double(logmel[t * bands + b]) - Double(lo)) / max(1e-9, Double(hi - lo))
                svg += String(
                    format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.2f\" fill=\"%@\"/>",
                    left + Double(t) * cw, Double(bands - 1 - b) * ch, cw + 0.3, ch + 0.3, Self.colour(v))
            }
        }
        for (on, off) in r.evidenceSpans {
            let x0 = left + w * Double(on) / Double(r.numSamples), x1 = left + w * Double(off) / Double(r.numSamples)
            svg += String(
                format:
                    "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%.0f\" fill=\"#ffffff\" fill-opacity=\"0.25\" "
                    + "stroke=\"#fff\" stroke-dasharray=\"4 3\"/>",
                x0, x1 - x0, h)
        }
        svg += "<text x=\"0\" y=\"12\">log-mel</text>" + axis(left: left, width: w, y: h, duration: duration) + "</svg>"
        // Attention curves: the teacher's rollout and each student's attention, stretched over the example.
        var series: [(String, [Double])] = []
        if let (rollout, cache) = teacherRollout(r.id) {
            let row = cache?.rolloutRow.map { "\($0.rawValue) row" } ?? "row unrecorded"
            series.append(("teacher rollout (\(row))", rollout.map(Double.init)))
        }
        for run in runs { if let a = run.attention { series.append(("\(run.name)", a.map(Double.init))) } }
        var curves =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w + left + 20))\" "
            + "height=\"\(Int(h + 30 + 14 * Double(series.count)))\">"
        for (on, off) in r.evidenceSpans {
            let x0 = left + w * Double(on) / Double(r.numSamples), x1 = left + w * Double(off) / Double(r.numSamples)
            curves += String(
                format:
                    "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%.0f\" fill=\"#f3c969\" fill-opacity=\"0.35\"/>",
                x0, x1 - x0, h)
        }
        for (i, (name, v)) in series.enumerated() {
            let top = v.max() ?? 1
            let pts = v.enumerated().map { j, y in
                String(
                    format: "%.1f,%.1f", left + w * (Double(j) + 0.5) / Double(v.count),
                    h - h * 0.95 * y / max(top, 1e-12))
            }.joined(separator: " ")
            let c = Self.palette[i % Self.palette.count]
            curves += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.6\" points=\"\(pts)\"/>"
            curves +=
                "<text x=\"\(Int(left))\" y=\"\(Int(h + 30 + 14 * Double(i)))\" fill=\"\(c)\">— \(esc(name)) "
                + "(peak-normalised)</text>"
        }
        curves +=
            "<text x=\"0\" y=\"12\">attention</text>" + axis(left: left, width: w, y: h, duration: duration) + "</svg>"
        let rate = Double(r.sampleRate)
        let kw =
            r.keyword.map {
                let span = String(
                    format: "%.3f–%.3f s", Double($0.speechOnsetSample) / rate, Double($0.speechOffsetSample) / rate)
                return "“\(esc($0.word))”, speech span \(span)"
            }
            ?? (r.events ?? []).map {
                String(
                    format: "%@ %.2f–%.2f s", esc($0.label), Double($0.onsetSample) / rate,
                    Double($0.offsetSample) / rate)
            }.joined(separator: ", ")
        // A mixture's SNR, or a clip's labels.
        let detail =
            r.labels.map { "labels " + esc($0.joined(separator: ", ")) }
            ?? "SNR " + (r.snrDBAchieved.map { String(format: "%.1f dB", $0) } ?? "–")
        return (heading ? "<h2>Where the evidence is (Fig. 2 style)</h2>\n" : "") + """
            <figure>\(svg)<br>\(curves)<figcaption>Example \(esc(r.id)) (\(esc(r.split.rawValue)), \(kw), \(detail)): \
            log-mel (40 bands, 25 ms / 10 ms) with the recorded speech-active span (or the clip's events) \
            shaded; below, the teacher's \
            attention rollout and each student's attention over time.</figcaption></figure>

            """
    }

    func axis(left: Double, width: Double, y: Double, duration: Double) -> String {
        var s = "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + width)\" y2=\"\(y)\" stroke=\"#444\"/>"
        let step = duration > 4 ? 1.0 : 0.25
        for t in stride(from: 0.0, through: duration + 1e-9, by: step) {
            let x = left + width * t / duration
            s += String(
                format:
                    "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#444\"/><text x=\"%.1f\" "
                    + "y=\"%.0f\" text-anchor=\"middle\">%g s</text>",
                x, y, x, y + 4, x, y + 16, t)
        }
        return s
    }

    /// The example's rollout from the dataset's first complete teacher cache, with that cache's description.
    func teacherRollout(_ id: String) -> ([Float], TeacherCacheInfo?)? {
        for folder in DatasetLayout(dataset).teacherCaches {
            if let reader = try? ShardedStoreReader(folder),
                let v = try? reader.tensor(TeacherCacheInfo.rolloutKey(id)).values
            {
                return (v, try? TeacherCacheInfo.load(folder))
            }
        }
        return nil
    }

    // MARK: Tables

    func classTable(_ info: DatasetInfo) -> String {
        let splits = Split.allCases.map(\.rawValue)
        var s =
            "<h2>Classes</h2>\n<table><tr><th>class</th>" + splits.map { "<th>\($0)</th>" }.joined()
            + "<th>all</th></tr>"
        for label in info.labels {
            let counts = splits.map { info.counts[$0]?[label] ?? 0 }
            s +=
                "<tr><td>\(esc(label))</td>" + counts.map { "<td>\($0)</td>" }.joined()
                + "<td>\(counts.reduce(0, +))</td></tr>"
        }
        let totals = splits.map { split in info.labels.reduce(0) { $0 + (info.counts[split]?[$1] ?? 0) } }
        s +=
            "<tr><th>all</th>" + totals.map { "<th>\($0)</th>" }.joined()
            + "<th>\(totals.reduce(0, +))</th></tr></table>\n"
        return s
    }

    static func short(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

    // MARK: SVG charts

    static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
    ]

    /// A dark-blue → yellow colour ramp for v in [0, 1].
    static func colour(_ v: Double) -> String {
        let t = min(1, max(0, v))
        let r = Int(255 * min(1, max(0, 1.6 * t - 0.3))), g = Int(255 * min(1, max(0, 1.2 * t))),
            b = Int(255 * min(1, max(0, 0.5 + 0.6 * t - 1.1 * t * t)))
        return String(format: "#%02x%02x%02x", r, g, b)
    }

    static func histogram(_ values: [Double], title: String, bins: Int) -> String {
        let (w, h) = (320.0, 150.0)
        guard let lo = values.min(), let hi = values.max() else { return "<p>\(esc(title)): no values</p>" }
        let width = hi > lo ? (hi - lo) / Double(bins) : 1
        var counts = [Int](repeating: 0, count: bins)
        for v in values { counts[min(bins - 1, Int((v - lo) / width))] += 1 }
        let top = Double(counts.max() ?? 1)
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h + 40))\"><text x=\"0\" "
            + "y=\"12\">\(esc(title)) · \(values.count) examples</text>"
        for (i, c) in counts.enumerated() {
            let bh = (h - 20) * Double(c) / max(top, 1)
            s += String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#1f77b4\"/>",
                Double(i) * w / Double(bins), h - bh, w / Double(bins) - 1, bh)
        }
        s += "<line x1=\"0\" y1=\"\(h)\" x2=\"\(w)\" y2=\"\(h)\" stroke=\"#444\"/>"
        s += String(
            format: "<text x=\"0\" y=\"%.0f\">%.2f</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.2f</text>",
            h + 14, lo, w, h + 14, hi)
        return s + "</svg>"
    }

    static func lines(_ series: [(String, [(Double, Double)])], title: String, x: String) -> String {
        let (w, h, left) = (480.0, 200.0, 40.0)
        let all = series.flatMap(\.1)
        guard let x0 = all.map(\.0).min(), let x1 = all.map(\.0).max(), let y0 = all.map(\.1).min(),
            let y1 = all.map(\.1).max()
        else { return "" }
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w + left + 10))\" "
            + "height=\"\(Int(h + 30 + 14 * Double(series.count)))\"><text x=\"0\" y=\"12\">\(esc(title))</text>"
        func px(_ v: Double) -> Double { left + w * (v - x0) / max(x1 - x0, 1e-12) }
        func py(_ v: Double) -> Double { h - (h - 20) * (v - y0) / max(y1 - y0, 1e-12) }
        for (i, (name, pts)) in series.enumerated() {
            let c = palette[i % palette.count]
            s +=
                "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.5\" points=\""
                + pts.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ") + "\"/>"
            s += "<text x=\"\(Int(left))\" y=\"\(Int(h + 30 + 14 * Double(i)))\" fill=\"\(c)\">— \(esc(name))</text>"
        }
        s += "<line x1=\"\(left)\" y1=\"\(h)\" x2=\"\(left + w)\" y2=\"\(h)\" stroke=\"#444\"/>"
        s += String(
            format: "<text x=\"%.0f\" y=\"%.0f\">%g</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%g %@</text>",
            left, h + 14, x0, left + w, h + 14, x1, x)
        s += String(
            format: "<text x=\"0\" y=\"%.0f\">%.3g</text><text x=\"0\" y=\"%.0f\">%.3g</text>", py(y0), y0, py(y1) + 10,
            y1)
        return s + "</svg>"
    }
}

/// HTML text escaping.
func esc(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
