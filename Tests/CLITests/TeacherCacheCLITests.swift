import Foundation
import TestSupport
import Testing

@Suite("tkd teacher cache (end to end)")
struct TeacherCacheCLITests {
    @Test("cache: same bytes for --jobs 1 and 2, resumed after a lost shard, recomputed if audio changed; trains")
    func cache() throws {
        let dataset = TestFolder.path("teacher-dataset")
        try FileManager.default.copyItem(at: try CLIDataset.small(), to: dataset)
        let runs = TestFolder.path("teacher-runs")
        defer { for d in [dataset, runs] { try? FileManager.default.removeItem(at: d) } }
        let base = ["teacher", "cache", "--dataset", dataset.path, "--teacher", TeacherCLITests.model, "-q"]
        let two = try TKDBinary.run(base + ["--jobs", "2"])
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stdout.contains("(1 shard(s) made, 0 kept)") && two.stdout.contains("rollout localisation over"))
        let teachers = dataset.appendingPathComponent("teachers")
        let folders = try FileManager.default.contentsOfDirectory(atPath: teachers.path)
        #expect(folders.count == 1)
        let cache = teachers.appendingPathComponent(folders[0])
        let first = try TestFolder.digests(cache)
        try FileManager.default.removeItem(at: teachers)
        let one = try TKDBinary.run(base + ["--jobs", "1"])
        let afterOne = try TestFolder.digests(cache)
        #expect(one.status == 0 && afterOne == first)

        let kept = try TKDBinary.run(base)
        #expect(kept.stdout.contains("(0 shard(s) made, 1 kept)"))
        try FileManager.default.removeItem(at: cache.appendingPathComponent("shard-00000.safetensors"))
        let lost = try TKDBinary.run(base)
        let afterLost = try TestFolder.digests(cache)
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
        let afterChange = try TestFolder.digests(cache)
        #expect(changed.stdout.contains("(1 shard(s) made, 0 kept)") && afterChange == first, "\(changed.stdout)")

        let config = TestFolder.path("teacher-config").appendingPathExtension("yaml")
        let yaml =
            "student: tc-resnet\nsteps: 4\nbatch_size: 8\neval_every: 2\nbatch_norm_momentum: 0.8\n"
            + "kd: {lambda: 0.5, logit_weight: 0.5}\n"
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }
        let fingerprint = String(folders[0].prefix(10))
        let t = try TKDBinary.run([
            "train", "--dataset", dataset.path, "--config", config.path, "--runs", runs.path, "--name", "t",
            "--kd-target", "teacher:\(fingerprint)", "-q",
        ])
        #expect(t.status == 0, "\(t.stderr)")
        let best =
            try JSONSerialization.jsonObject(with: Data(contentsOf: runs.appendingPathComponent("t/best.json")))
            as? [String: Any]
        #expect((best?["teacher_fingerprint"] as? String)?.hasPrefix(folders[0]) == true)
        let unknown = try TKDBinary.run([
            "train", "--dataset", dataset.path, "--config", config.path, "--runs", runs.path, "--name", "u",
            "--kd-target", "teacher:abcdef",
        ])
        #expect(unknown.status != 0 && unknown.stderr.contains("tkd teacher cache"), "\(unknown.stderr)")
    }
}
