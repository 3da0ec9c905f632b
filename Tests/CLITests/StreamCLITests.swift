import Foundation
import TestSupport
import Testing

/// Issue 25, part 1, through the binary: `tkd generate` of a stream recipe, `tkd verify` of what it made, and the
/// clip stages refusing a stream dataset.
@Suite("tkd generate / verify: stream datasets")
struct StreamCLITests {
    static let recipe = TKDBinary.repo.appendingPathComponent("Recipes/streams-demo.yaml").path

    static func generate(_ out: URL, _ extra: [String] = []) throws -> TKDBinary.Output {
        let corpus = try CLICorpus.small()
        return try TKDBinary.run(
            ["generate", "--recipe", recipe, "--corpus", corpus.path, "--out", out.path, "-q"] + extra)
    }

    func verify(_ dataset: URL) throws -> (TKDBinary.Output, [String: Any]) {
        let v = try TKDBinary.run([
            "verify", "--dataset", dataset.path, "--corpus", try CLICorpus.small().path, "--json", "-q",
        ])
        return (v, (try? JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any]) ?? [:])
    }

    func failedChecks(_ report: [String: Any]) -> Set<String> {
        Set(((report["failures"] as? [[String: Any]]) ?? []).compactMap { $0["check"] as? String })
    }

    /// Rewrites the first stream of the testing manifest through `edit` (keys sorted, as canonical).
    func tamper(_ dataset: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dataset.appendingPathComponent("manifests/testing.jsonl")
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        var first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        edit(&first)
        lines[0] = String(
            decoding: try JSONSerialization.data(
                withJSONObject: first, options: [.sortedKeys, .withoutEscapingSlashes]),
            as: UTF8.self)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("generate prints the stream table; verify passes; one event moved by a sample is found where it is")
    func generateAndVerify() throws {
        let dir = TestFolder.path("cli-streams")
        defer { try? FileManager.default.removeItem(at: dir) }
        let g = try Self.generate(dir)
        #expect(g.status == 0, "\(g.stderr)")
        #expect(g.stdout.contains("stream dataset") && g.stdout.contains("negative hours"), "\(g.stdout)")
        let (v, report) = try verify(dir)
        #expect(v.status == 0 && report["passed"] as? Bool == true, "\(v.stdout)\(v.stderr)")
        let checks = Set(((report["checks"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String })
        for c in ["event.locate", "snr.achieved", "audio.rerender", "stream.gaps", "split.speakers-disjoint"] {
            #expect(checks.contains(c), "\(c)")
        }

        // The second event one sample later in the manifest: the re-render and the locator both disagree.
        try tamper(dir) { r in
            var events = r["events"] as! [[String: Any]]
            var p = events[1]["placement"] as! [String: Any]
            for key in ["onset_sample", "offset_sample", "speech_onset_sample", "speech_offset_sample"] {
                p[key] = (p[key] as! Int) + 1
            }
            for key in ["onset_seconds", "offset_seconds", "speech_onset_seconds", "speech_offset_seconds"] {
                p[key] = (p[key] as! Double) + 1.0 / 16000
            }
            events[1]["placement"] = p
            r["events"] = events
        }
        let (moved, movedReport) = try verify(dir)
        #expect(moved.status != 0)
        let failed = failedChecks(movedReport)
        #expect(failed.contains("event.locate") && failed.contains("audio.rerender"), "\(failed)")
        let detail = ((movedReport["failures"] as? [[String: Any]]) ?? []).first {
            $0["check"] as? String == "event.locate"
        }
        #expect((detail?["detail"] as? String)?.contains("the manifest records") == true)
    }

    @Test("verify names events that overlap or crowd each other, and hostile event fields, by stream and field")
    func hostileEvents() throws {
        let dir = TestFolder.path("cli-streams-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try Self.generate(dir).status == 0)
        let clean = dir.appendingPathComponent("manifests/testing.jsonl")
        let original = try Data(contentsOf: clean)
        // The second event moved onto the first: the windows overlap (manifest.record) and the gap fails.
        try tamper(dir) { r in
            var events = r["events"] as! [[String: Any]]
            let first = events[0]["placement"] as! [String: Any]
            var p = events[1]["placement"] as! [String: Any]
            let shift = (first["onset_sample"] as! Int) + 8000 - (p["onset_sample"] as! Int)
            for key in ["onset_sample", "offset_sample", "speech_onset_sample", "speech_offset_sample"] {
                p[key] = (p[key] as! Int) + shift
            }
            events[1]["placement"] = p
            r["events"] = events
        }
        let (_, overlap) = try verify(dir)
        #expect(failedChecks(overlap).contains("manifest.record"), "\(failedChecks(overlap))")
        // A source that leads out of the corpus, and an event past the end of the stream.
        try original.write(to: clean)
        try tamper(dir) { r in
            var events = r["events"] as! [[String: Any]]
            var p = events[0]["placement"] as! [String: Any]
            p["source"] = "../../etc/passwd"
            events[0]["placement"] = p
            var q = events[events.count - 1]["placement"] as! [String: Any]
            q["onset_sample"] = (r["num_samples"] as! Int) - 10
            events[events.count - 1]["placement"] = q
            r["events"] = events
        }
        let (h, hostile) = try verify(dir)
        #expect(h.status != 0)
        let details = ((hostile["failures"] as? [[String: Any]]) ?? []).compactMap { $0["detail"] as? String }
        #expect(details.contains { $0.contains("placement.source") && $0.contains("../../etc/passwd") }, "\(details)")
        #expect(details.contains { $0.contains("placement.onset_sample") && $0.contains("not a one-second window") })
    }

    @Test("the clip stages refuse a stream dataset in one line; --variant and --plan-only do not apply")
    func clipStagesRefuse() throws {
        let dir = TestFolder.path("cli-streams-refuse")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try Self.generate(dir).status == 0)
        let f = try TKDBinary.run(["features", "--dataset", dir.path, "--preset", "kws-streaming-mfcc40", "-q"])
        #expect(f.status != 0)
        #expect(f.stderr.contains("stream_recipe") && f.stderr.contains("is a stream dataset"), "\(f.stderr)")
        #expect(f.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1)
        let v = try Self.generate(TestFolder.path("cli-streams-variant"), ["--variant", "2s"])
        #expect(v.status != 0 && v.stderr.contains("--variant does not apply here"), "\(v.stderr)")
        let p = try Self.generate(TestFolder.path("cli-streams-plan"), ["--plan-only"])
        #expect(p.status != 0 && p.stderr.contains("--plan-only does not apply here"), "\(p.stderr)")
    }

    @Test("evaluate --stream: its detections at the detector's threshold are tkd detect's on the same streams")
    func evaluateStreamAgainstDetect() throws {
        let dir = TestFolder.path("cli-streams-eval"), ck = TestFolder.path("stream-ck.safetensors")
        let out = TestFolder.path("stream-metrics.json")
        defer { for u in [dir, ck, out] { try? FileManager.default.removeItem(at: u) } }
        #expect(try Self.generate(dir).status == 0)
        // An untrained TC-ResNet of 1 s: its probabilities sit near 1/12, so at 0.09 it fires often, on both sides.
        let m = try TKDBinary.run(["model", "init", "tc-resnet", "--out", ck.path, "--seed", "1"])
        #expect(m.status == 0, "\(m.stderr)")
        let e = try TKDBinary.run([
            "evaluate", "--stream", "--checkpoint", ck.path, "--dataset", dir.path, "--split", "testing",
            "--threshold", "0.09", "--out", out.path, "-q",
        ])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(e.stdout.contains("FRR @1 FA/h") && e.stdout.contains("(pooled)"), "\(e.stdout)")
        let metrics = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        let pooled = metrics["pooled"] as! [String: Any], hours = metrics["hours"] as! Double
        let thresholds = metrics["thresholds"] as! [Double]
        let frr = pooled["frr"] as! [Double], fa = pooled["fa_per_hour"] as! [Double]
        #expect(thresholds.count == 101 && frr.count == 101)
        // More threshold, fewer detections: FRR never falls and FA/hr never rises along the sweep.
        #expect(zip(frr, frr.dropFirst()).allSatisfy { $0 <= $1 + 1e-12 })
        #expect(zip(fa, fa.dropFirst()).allSatisfy { $0 >= $1 - 1e-9 })
        let hits = (metrics["hits_at_threshold"] as! [String: Any])["hits"] as! Int
        let falseAccepts = Int((fa[9] * hours).rounded())
        #expect(hits + falseAccepts > 0)
        // tkd detect on every testing stream with the same settings: one line per detection.
        let records = try String(contentsOf: dir.appendingPathComponent("manifests/testing.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["audio"] as? String
            }
        let d = try TKDBinary.run(
            ["detect", "--checkpoint", ck.path, "--threshold", "0.09", "-q"]
                + records.map { dir.appendingPathComponent($0).path })
        #expect(d.status == 0, "\(d.stderr)")
        let lines = d.stdout.split(separator: "\n").count
        #expect(lines == hits + falseAccepts, "tkd detect: \(lines); evaluate --stream: \(hits) + \(falseAccepts)")

        // The exported graph (tkd's runner) as the scorer: the same streams and windows, written into the export.
        let export = TestFolder.path("stream-export")
        defer { try? FileManager.default.removeItem(at: export) }
        #expect(try TKDBinary.run(["export", "--checkpoint", ck.path, "--out", export.path]).status == 0)
        let x = try TKDBinary.run([
            "evaluate", "--stream", "--model", export.path, "--dataset", dir.path, "--threshold", "0.09", "-q",
        ])
        #expect(x.status == 0, "\(x.stderr)")
        let exported = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: export.appendingPathComponent("testing-stream-metrics.json"))) as? [String: Any])
        #expect(exported["windows"] as? Int == metrics["windows"] as? Int && exported["hours"] as? Double == hours)
        #expect((exported["pooled"] as? [String: Any])?["targets"] as? Int == pooled["targets"] as? Int)

        // The report page: DET curves, latency, the timeline of the first stream with a target and its detections.
        let page = TestFolder.path("stream-report.html")
        defer { try? FileManager.default.removeItem(at: page) }
        let r = try TKDBinary.run([
            "report", "--dataset", dir.path, "--stream-metrics", out.path, "--out", page.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try String(contentsOf: page, encoding: .utf8)
        let timeline = try #require(metrics["timeline"] as? [String: Any])
        #expect(html.contains("DET curves") && html.contains("Timeline of \(timeline["stream"] as! String)"))
        #expect(html.contains("<polyline") && html.contains("<circle"))
        // A stream-metrics.json edited by hand: a curve one value short is named by field, nothing written.
        var edited = metrics
        var p = pooled
        p["frr"] = Array(frr.dropLast())
        edited["pooled"] = p
        try JSONSerialization.data(withJSONObject: edited).write(to: out)
        try FileManager.default.removeItem(at: page)
        let bad = try TKDBinary.run([
            "report", "--dataset", dir.path, "--stream-metrics", out.path, "--out", page.path,
        ])
        #expect(bad.status != 0 && bad.stderr.contains("pooled.frr") && bad.stderr.contains("one per threshold (101)"))
        #expect(!FileManager.default.fileExists(atPath: page.path))
        // Which targets were hit: one bit per target; a digit short is named by field.
        var hitsAt = metrics["hits_at_threshold"] as! [String: Any]
        let bits = try #require(hitsAt["targets_hit"] as? String)
        #expect(bits.count == ((pooled["targets"] as! Int) + 3) / 4)
        hitsAt["targets_hit"] = String(bits.dropLast())
        edited = metrics
        edited["hits_at_threshold"] = hitsAt
        try JSONSerialization.data(withJSONObject: edited).write(to: out)
        let short = try TKDBinary.run([
            "report", "--dataset", dir.path, "--stream-metrics", out.path, "--out", page.path,
        ])
        #expect(short.status != 0 && short.stderr.contains("hits_at_threshold.targets_hit"), "\(short.stderr)")
    }

    @Test(
        "a streaming export: evaluate --stream carries its states; detect reads it; TC-ResNet is refused")
    func streamingExport() throws {
        let dir = TestFolder.path("cli-streams-streaming"), ck = TestFolder.path("stream-crnn.safetensors")
        let export = TestFolder.path("stream-crnn-streaming"), out = TestFolder.path("stream-crnn-metrics.json")
        let tc = TestFolder.path("stream-tc.safetensors"), refused = TestFolder.path("stream-tc-streaming")
        defer { for u in [dir, ck, export, out, tc, refused] { try? FileManager.default.removeItem(at: u) } }
        #expect(try Self.generate(dir).status == 0)
        #expect(try TKDBinary.run(["model", "init", "crnn", "--out", ck.path, "--seed", "1"]).status == 0)
        let x = try TKDBinary.run(["export", "--checkpoint", ck.path, "--out", export.path, "--graph", "streaming"])
        #expect(x.status == 0, "\(x.stderr)")
        #expect(x.stdout.contains("streaming: 5 states") && x.stdout.contains("a window is 50 calls"), "\(x.stdout)")
        func metrics(_ scorer: [String], _ url: URL) throws -> [String: Any] {
            let e = try TKDBinary.run(
                ["evaluate", "--stream"] + scorer + [
                    "--dataset", dir.path, "--split", "testing", "--threshold", "0.09", "--out", url.path, "-q",
                ])
            #expect(e.status == 0, "\(e.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        }
        let streamed = try metrics(["--model", export.path], out)
        let sliding = try metrics(["--checkpoint", ck.path], TestFolder.path("stream-crnn-window.json"))
        defer { try? FileManager.default.removeItem(at: TestFolder.path("stream-crnn-window.json")) }
        #expect(streamed["scoring"] as? String == "streaming" && sliding["scoring"] as? String == "window")
        let resetURL = TestFolder.path("stream-crnn-reset.json")
        defer { try? FileManager.default.removeItem(at: resetURL) }
        let restarted = try metrics(["--model", export.path, "--reset-every", "2"], resetURL)
        #expect(restarted["state_reset_windows"] as? Int == 2 && streamed["state_reset_windows"] == nil)
        #expect(restarted["windows"] as? Int == sliding["windows"] as? Int)
        let one = try TKDBinary.run(
            ["evaluate", "--stream", "--model", export.path, "--dataset", dir.path, "--reset-every", "1", "-q"])
        #expect(one.status != 0 && one.stderr.contains("--reset-every"), "\(one.stderr)")
        let recorded = try TKDBinary.run([
            "export", "--checkpoint", ck.path, "--out", TestFolder.path("never").path, "--graph", "streaming",
            "--reset-every", "2",
        ])
        #expect(recorded.status != 0 && recorded.stderr.contains("does not record it"), "\(recorded.stderr)")
        // Scores are read where the sliding windows end: the same windows, hours and targets.
        #expect(streamed["windows"] as? Int == sliding["windows"] as? Int && (streamed["windows"] as? Int ?? 0) > 0)
        #expect(streamed["hours"] as? Double == sliding["hours"] as? Double)
        let targets = { (m: [String: Any]) in (m["pooled"] as? [String: Any])?["targets"] as? Int }
        #expect(targets(streamed) == targets(sliding) && (targets(streamed) ?? 0) > 0)
        // The carried states change the scores (reset0 is not reset1): the timelines differ.
        let score = { (m: [String: Any]) in ((m["timeline"] as? [String: Any])?["max_score"] as? [Double]) ?? [] }
        #expect(score(streamed).count == score(sliding).count && !score(streamed).isEmpty)
        #expect(score(streamed) != score(sliding))
        let audio = try String(contentsOf: dir.appendingPathComponent("manifests/testing.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["audio"] as? String
            }
        let d = try TKDBinary.run(
            ["detect", "--model", export.path, "--json", "-q", dir.appendingPathComponent(audio[0]).path])
        #expect(d.status == 0, "\(d.stderr)")

        #expect(try TKDBinary.run(["model", "init", "tc-resnet", "--out", tc.path]).status == 0)
        let r = try TKDBinary.run(["export", "--checkpoint", tc.path, "--out", refused.path, "--graph", "streaming"])
        #expect(r.status != 0 && r.stderr.contains("cannot stream") && r.stderr.contains("--graph window"))
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: refused.path))
    }

    @Test("evaluate --stream refuses a clip dataset, another label map, a negative tolerance and a bad sweep")
    func evaluateStreamBadInput() throws {
        let dir = TestFolder.path("cli-streams-bad"), ck = TestFolder.path("stream-bad-ck.safetensors")
        defer { for u in [dir, ck] { try? FileManager.default.removeItem(at: u) } }
        #expect(try Self.generate(dir).status == 0)
        #expect(try TKDBinary.run(["model", "init", "tc-resnet", "--out", ck.path, "--labels", "a,b"]).status == 0)
        let base = ["evaluate", "--stream", "--checkpoint", ck.path, "-q"]
        let labels = try TKDBinary.run(base + ["--dataset", dir.path])
        #expect(labels.status != 0 && labels.stderr.contains("differ from the model's a,b"), "\(labels.stderr)")
        let clip = try TKDBinary.run(base + ["--dataset", try CLIDataset.small().path])
        #expect(clip.status != 0 && clip.stderr.contains("not a stream dataset"), "\(clip.stderr)")
        for (extra, fragment) in [
            (["--tolerance-ms=-5"], "--tolerance-ms must be ≥ 0; got -5"),
            (["--sweep-step", "0"], "--sweep-step must be in (0, 1]"),
            (["--sweep-step", "1.5"], "got 1.5"),
            (["--threshold", "1.2"], "--threshold must be in 0…1; got 1.2"),
        ] {
            let r = try TKDBinary.run(base + ["--dataset", dir.path] + extra)
            #expect(r.status != 0 && r.stderr.contains(fragment), "\(extra): \(r.stderr)")
        }
        let noStream = try TKDBinary.run([
            "evaluate", "--checkpoint", ck.path, "--dataset", dir.path, "--tolerance-ms", "5",
        ])
        #expect(noStream.status != 0 && noStream.stderr.contains("apply only with --stream"), "\(noStream.stderr)")
    }
}
