import Foundation
import TestSupport
import Testing

@Suite("tkd report (end to end)")
struct ReportCLITests {
    @Test("a self-contained page: the Fig. 2-style figure, distributions, classes, curves, student × λ table")
    func report() throws {
        let shared = try CLIDataset.small()
        let dir = TestFolder.path("report")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let dataset = dir.appendingPathComponent("dataset")
        try FileManager.default.copyItem(at: shared, to: dataset)
        let out = dir.appendingPathComponent("report.html")

        let bare = try TKDBinary.run(["report", "--dataset", dataset.path, "--out", out.path])
        #expect(bare.status == 0, "\(bare.stderr)")
        var html = try String(contentsOf: out, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("</html>"))
        #expect(
            !html.contains("http://")
                || html.components(separatedBy: "http://").dropFirst().allSatisfy {
                    $0.hasPrefix("www.w3.org/2000/svg")
                },
            "the page must not load anything from the network")
        #expect(html.components(separatedBy: "<svg").count - 1 == 5, "log-mel, attention and three histograms")
        #expect(
            html.contains("achieved SNR (dB)") && html.contains("keyword onset (s)")
                && html.contains("<h2>Classes</h2>"))
        #expect(!html.contains("Table 2"))

        // Two short runs (λ = 0 and λ = 0.5) add curves, the table and one attention curve.
        let config = dir.appendingPathComponent("tc.yaml")
        try TrainCLITests.config.replacingOccurrences(of: "steps: 60", with: "steps: 4").replacingOccurrences(
            of: "eval_every: 30", with: "eval_every: 2"
        )
        .write(to: config, atomically: true, encoding: .utf8)
        let runs = dir.appendingPathComponent("runs")
        for lambda in ["0", "0.5"] {
            let t = try TKDBinary.run([
                "train", "--dataset", dataset.path, "--config", config.path, "--runs", runs.path, "--kd-lambda", lambda,
                "-q",
            ])
            #expect(t.status == 0, "\(t.stderr)")
        }
        let full = try TKDBinary.run(["report", "--dataset", dataset.path, "--runs", runs.path, "--out", out.path])
        #expect(full.status == 0 && full.stdout.contains("2 run(s)"), "\(full.stdout)\(full.stderr)")
        html = try String(contentsOf: out, encoding: .utf8)
        #expect(
            html.contains("Test accuracy (Table 2 style)") && html.contains("λ = 0</th>")
                && html.contains("λ = 0.5 (oracle)</th>") && html.contains("(n = 1)"),
            "one column per (λ, target), each cell with its n")
        #expect(
            html.contains("— tc-lambda0.5") || html.contains("lambda0.5 (peak-normalised)"),
            "the λ > 0 run's attention curve")
        #expect(html.contains("Training curves"))

        let missing = try TKDBinary.run([
            "report", "--dataset", dataset.path, "--example", "no-such-id", "--out", out.path,
        ])
        #expect(missing.status != 0 && missing.stderr.contains("no-such-id"), "\(missing.stderr)")
    }

    @Test("tkd demo refuses to start without its recipes, naming the missing file")
    func demoNeedsRecipes() throws {
        let dir = TestFolder.path("demo-recipes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try TKDBinary.run(["demo", "--out", dir.appendingPathComponent("out").path, "--recipes", dir.path])
        #expect(
            r.status != 0 && r.stderr.contains("demo.yaml is missing") && r.stderr.contains("--recipes"), "\(r.stderr)")
        #expect(
            !FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path),
            "nothing is made before the check")
    }
}
