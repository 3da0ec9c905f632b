import Foundation
import Testing

@Suite("tkd teacher (end to end)")
struct TeacherCLITests {
    static let model = TKDBinary.repo.appendingPathComponent("Tests/TeacherTests/Fixtures/base").path

    func sox(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sox"] + args
        try p.run(); p.waitUntilExit()
    }

    /// The JSON header of a safetensors file.
    func header(_ url: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] ?? [:]
    }

    @Test("attentions: logits, every layer's [heads, T, T] map and a rollout; wrong rate and missing model refused")
    func attentions() throws {
        let dir = TKDBinary.tempDir("teacher")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("tone.wav"), low = dir.appendingPathComponent("tone8k.wav")
        try sox(["-n", "-r", "16000", "-b", "16", wav.path, "synth", "0.5", "sine", "440", "vol", "0.3"])
        try sox(["-n", "-r", "8000", "-b", "16", low.path, "synth", "0.5", "sine", "440", "vol", "0.3"])
        let out = dir.appendingPathComponent("a.safetensors")
        let r = try TKDBinary.run(["teacher", "attentions", "--teacher", Self.model, wav.path, "--out", out.path, "--rollout"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("24 frames, 2 layers × 2 heads"))
        let h = try header(out)
        #expect((h["layer.0"] as? [String: Any])?["shape"] as? [Int] == [2, 24, 24])
        #expect((h["layer.1"] as? [String: Any])?["shape"] as? [Int] == [2, 24, 24])
        #expect((h["logits"] as? [String: Any])?["shape"] as? [Int] == [12])
        #expect((h["rollout"] as? [String: Any])?["shape"] as? [Int] == [24])

        let rate = try TKDBinary.run(["teacher", "attentions", "--teacher", Self.model, low.path, "--out", out.path])
        #expect(rate.status != 0 && rate.stderr.contains("8000"), "\(rate.stderr)")
        let resampled = try TKDBinary.run(["teacher", "attentions", "--teacher", Self.model, low.path, "--out", out.path, "--resample"])
        #expect(resampled.status == 0, "\(resampled.stderr)")
        let missing = try TKDBinary.run(["teacher", "attentions", "--teacher", dir.path, wav.path, "--out", out.path])
        #expect(missing.status != 0 && missing.stderr.contains("config.json"), "\(missing.stderr)")
    }
}

@Suite("tkd teacher cache (end to end)")
struct TeacherCacheCLITests {
    @Test("cache: same bytes for --jobs 1 and 2, resumed after a lost shard, recomputed when audio changed; training reads it")
    func cache() throws {
        let dataset = TKDBinary.tempDir("teacher-dataset")
        try FileManager.default.copyItem(at: try CLIDataset.small(), to: dataset)
        let runs = TKDBinary.tempDir("teacher-runs")
        defer { for d in [dataset, runs] { try? FileManager.default.removeItem(at: d) } }
        let base = ["teacher", "cache", "--dataset", dataset.path, "--teacher", TeacherCLITests.model, "-q"]
        let two = try TKDBinary.run(base + ["--jobs", "2"])
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stdout.contains("(1 shard(s) made, 0 kept)") && two.stdout.contains("rollout localisation over"))
        let teachers = dataset.appendingPathComponent("teachers")
        let folders = try FileManager.default.contentsOfDirectory(atPath: teachers.path)
        #expect(folders.count == 1)
        let cache = teachers.appendingPathComponent(folders[0])
        let first = try TKDBinary.digests(cache)
        try FileManager.default.removeItem(at: teachers)
        let one = try TKDBinary.run(base + ["--jobs", "1"])
        let afterOne = try TKDBinary.digests(cache)
        #expect(one.status == 0 && afterOne == first)

        let kept = try TKDBinary.run(base)
        #expect(kept.stdout.contains("(0 shard(s) made, 1 kept)"))
        try FileManager.default.removeItem(at: cache.appendingPathComponent("shard-00000.safetensors"))
        let lost = try TKDBinary.run(base)
        let afterLost = try TKDBinary.digests(cache)
        #expect(lost.stdout.contains("(1 shard(s) made, 0 kept)") && afterLost == first)
        // The shard's record says one example came from other audio: it is recomputed.
        let sidecar = cache.appendingPathComponent(".shard-00000.safetensors.done.json")
        let text = try String(contentsOf: sidecar, encoding: .utf8)
        let sources = text.range(of: #""sources""#)!
        let firstSource = text.range(of: #"" : ""#, range: sources.upperBound..<text.endIndex)!
        let tampered = text.replacingCharacters(in: firstSource, with: #"" : "0"#)
        #expect(tampered != text && tampered.contains(#""file" : "shard-00000.safetensors""#))
        try tampered.write(to: sidecar, atomically: true, encoding: .utf8)
        let changed = try TKDBinary.run(base)
        let afterChange = try TKDBinary.digests(cache)
        #expect(changed.stdout.contains("(1 shard(s) made, 0 kept)") && afterChange == first, "\(changed.stdout)")

        let config = TKDBinary.tempDir("teacher-config").appendingPathExtension("yaml")
        try "student: tc-resnet\nsteps: 4\nbatch_size: 8\neval_every: 2\nbatch_norm_momentum: 0.8\nkd: {lambda: 0.5, logit_weight: 0.5}\n"
            .write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }
        let fingerprint = String(folders[0].prefix(10))
        let t = try TKDBinary.run(["train", "--dataset", dataset.path, "--config", config.path, "--runs", runs.path, "--name", "t",
                                   "--kd-target", "teacher:\(fingerprint)", "-q"])
        #expect(t.status == 0, "\(t.stderr)")
        let best = try JSONSerialization.jsonObject(with: Data(contentsOf: runs.appendingPathComponent("t/best.json"))) as? [String: Any]
        #expect((best?["teacher_fingerprint"] as? String)?.hasPrefix(folders[0]) == true)
        let unknown = try TKDBinary.run(["train", "--dataset", dataset.path, "--config", config.path, "--runs", runs.path, "--name", "u",
                                         "--kd-target", "teacher:abcdef"])
        #expect(unknown.status != 0 && unknown.stderr.contains("tkd teacher cache"), "\(unknown.stderr)")
    }
}

@Suite("tkd teacher cache --import (end to end)")
struct TeacherImportCLITests {
    @Test("per-example exports (here written by tkd teacher attentions) give the same rollouts as running the teacher")
    func importExports() throws {
        let dataset = try CLIDataset.small()
        let exports = TKDBinary.tempDir("exports"), work = TKDBinary.tempDir("import-dataset")
        try FileManager.default.createDirectory(at: exports, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: dataset, to: work)
        defer { for d in [exports, work] { try? FileManager.default.removeItem(at: d) } }
        var ids: [(String, String)] = []
        for split in ["training", "validation", "testing"] {
            let text = try String(contentsOf: work.appendingPathComponent("manifests/\(split).jsonl"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                ids.append((o["id"] as! String, o["audio"] as! String))
            }
        }
        for (id, audio) in ids {
            let r = try TKDBinary.run(["teacher", "attentions", "--teacher", TeacherCLITests.model, work.appendingPathComponent(audio).path,
                                       "--out", exports.appendingPathComponent("\(id).safetensors").path])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let native = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--teacher", TeacherCLITests.model, "-q"])
        let imported = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--import", exports.path, "-q"])
        #expect(native.status == 0 && imported.status == 0, "\(imported.stderr)")
        func summary(_ s: String) -> [Substring] { s.split(separator: "\n").filter { $0.hasPrefix("teacher accuracy") || $0.hasPrefix("rollout localisation") } }
        #expect(summary(native.stdout).count == 2 && summary(native.stdout) == summary(imported.stdout), "\(native.stdout)\n\(imported.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("teachers").path).count == 2)

        try FileManager.default.removeItem(at: exports.appendingPathComponent("\(ids[5].0).safetensors"))
        let missing = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--import", exports.path])
        #expect(missing.status != 0 && missing.stderr.contains("\(ids[5].0).safetensors"), "\(missing.stderr)")
        let both = try TKDBinary.run(["teacher", "cache", "--dataset", work.path])
        #expect(both.status != 0 && both.stderr.contains("--import"))
    }
}
