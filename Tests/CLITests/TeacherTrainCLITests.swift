import Foundation
import TestSupport
import Testing

@Suite("tkd teacher train (end to end)")
struct TeacherTrainCLITests {
    /// A tiny bundled teacher: a 400-sample Gabor front end with stride 160, hidden 16, 1 layer.
    static let config = """
        name: tiny-teacher
        seed: 4
        batch_size: 8
        steps: 6
        eval_every: 3
        chunk: 2
        schedule: {kind: constant, rate: 0.003}
        dropout: 0.1
        time_shift_samples: 800
        model:
          hidden_size: 16
          layers: 1
          heads: 2
          intermediate_size: 32
          conv_dim: [8, 8]
          conv_kernel: [400, 3]
          conv_stride: [160, 2]
          positional_kernel: 8
          positional_groups: 2
          projector_size: 8
          front_end_init: gabor
        """

    static func files(_ folder: URL) throws -> [String: Data] {
        let names = [
            "config.json", "model.safetensors", "preprocessor_config.json", "training/config.json",
            "training/history.jsonl",
            "training/metrics.json", "training/state.safetensors",
        ]
        return try Dictionary(
            uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) })
    }

    @Test("stopped twice and resumed on 2 threads = one uninterrupted 1-thread run, byte for byte; it is a teacher")
    func resumeJobsAndCache() throws {
        let shared = try CLIDataset.small()
        let dir = TestFolder.path("teacher-train")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // A private copy: this test adds a teacher cache to the dataset.
        let dataset = dir.appendingPathComponent("dataset")
        try FileManager.default.copyItem(at: shared, to: dataset)
        let config = dir.appendingPathComponent("teacher.yaml")
        try Self.config.write(to: config, atomically: true, encoding: .utf8)
        let straight = dir.appendingPathComponent("straight"), resumed = dir.appendingPathComponent("resumed")
        let common = ["teacher", "train", "--dataset", dataset.path, "--config", config.path, "-q"]
        let a = try TKDBinary.run(common + ["--out", straight.path, "--jobs", "1"])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout.contains("best step"), "\(a.stdout)")
        for _ in 0..<2 {
            let s = try TKDBinary.run(common + ["--out", resumed.path, "--jobs", "2", "--stop-after", "2"])
            #expect(s.status == 0 && s.stdout.contains("stopped at step"), "\(s.stdout)\(s.stderr)")
        }
        let b = try TKDBinary.run(common + ["--out", resumed.path, "--jobs", "2"])
        #expect(b.status == 0 && b.stderr.contains("resuming"), "\(b.stderr)")
        let fa = try Self.files(straight), fb = try Self.files(resumed)
        for (name, data) in fa { #expect(fb[name] == data, "\(name) differs between the straight and the resumed run") }

        let history = try String(contentsOf: straight.appendingPathComponent("training/history.jsonl"), encoding: .utf8)
        #expect(history.split(separator: "\n").count == 2)
        let hf = try JSONSerialization.jsonObject(with: fa["config.json"]!) as? [String: Any] ?? [:]
        #expect(hf["model_type"] as? String == "wav2vec2")
        #expect((hf["id2label"] as? [String: String])?.count == 12)

        // The folder is a teacher: cache it, then train a student against the dataset's only cache.
        let cache = try TKDBinary.run(["teacher", "cache", "--dataset", dataset.path, "--teacher", straight.path, "-q"])
        #expect(cache.status == 0 && cache.stdout.contains("rollout localisation"), "\(cache.stderr)")
        let student = dir.appendingPathComponent("student.yaml")
        try TrainCLITests.config.replacingOccurrences(
            of: "target: oracle", with: "target: teacher, interpolation: centers"
        )
        .replacingOccurrences(of: "steps: 60", with: "steps: 2").replacingOccurrences(
            of: "eval_every: 30", with: "eval_every: 2"
        )
        .write(to: student, atomically: true, encoding: .utf8)
        let t = try TKDBinary.run([
            "train", "--dataset", dataset.path, "--config", student.path, "--runs",
            dir.appendingPathComponent("runs").path, "-q",
        ])
        #expect(t.status == 0 && t.stdout.contains("(teacher)"), "\(t.stdout)\(t.stderr)")
    }

    @Test("a config typo names file:line:key; another config's folder is refused")
    func errors() throws {
        let dataset = try CLIDataset.small()
        let dir = TestFolder.path("teacher-train-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let typo = dir.appendingPathComponent("typo.yaml")
        try "steps: 2\nmodel:\n  hiden_size: 8\n".write(to: typo, atomically: true, encoding: .utf8)
        let t = try TKDBinary.run([
            "teacher", "train", "--dataset", dataset.path, "--config", typo.path, "--out",
            dir.appendingPathComponent("x").path,
        ])
        #expect(t.status != 0 && t.stderr.contains("typo.yaml:3") && t.stderr.contains("hiden_size"), "\(t.stderr)")

        let small = dir.appendingPathComponent("small.yaml")
        try Self.config.replacingOccurrences(of: "steps: 6", with: "steps: 1").write(
            to: small, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("t")
        let ok = try TKDBinary.run([
            "teacher", "train", "--dataset", dataset.path, "--config", small.path, "--out", out.path, "-q",
        ])
        #expect(ok.status == 0, "\(ok.stderr)")
        let other = try TKDBinary.run([
            "teacher", "train", "--dataset", dataset.path, "--config", small.path, "--out", out.path,
            "--steps", "2", "-q",
        ])
        #expect(other.status != 0 && other.stderr.contains("training/config.json"), "\(other.stderr)")
    }

    @Test("--init fine-tunes a pretrained folder (stable layout) into a first-frame teacher; another is refused")
    func finetune() throws {
        let dataset = try CLIDataset.small()
        let dir = try TestFolder.make("teacher-finetune")
        defer { try? FileManager.default.removeItem(at: dir) }
        let work = dir.appendingPathComponent("dataset")
        try FileManager.default.copyItem(at: dataset, to: work)
        let fixtures = TKDBinary.repo.appendingPathComponent("Tests/TeacherTests/Fixtures")
        let config = dir.appendingPathComponent("finetune.yaml")
        try """
        name: finetune
        seed: 1
        batch_size: 8
        steps: 4
        eval_every: 2
        schedule: {kind: constant, rate: 0.0003}
        finetune: {freeze_layers: 1, projector_size: 8, weighted_layer_sum: true}
        """.write(to: config, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("teacher")
        let common = ["teacher", "train", "--dataset", work.path, "--config", config.path, "--out", out.path, "-q"]
        let t = try TKDBinary.run(common + ["--init", fixtures.appendingPathComponent("stable").path])
        #expect(t.status == 0, "\(t.stderr)")
        let hf =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json")))
            as? [String: Any] ?? [:]
        #expect(hf["do_stable_layer_norm"] as? Bool == true && hf["conv_bias"] as? Bool == true)
        #expect(hf["tkd_pooling"] as? String == "first" && hf["use_weighted_layer_sum"] as? Bool == true)
        #expect(hf["classifier_proj_size"] as? Int == 8 && (hf["id2label"] as? [String: String])?.count == 12)
        let record = hf["tkd_teacher"] as? [String: Any] ?? [:]
        #expect((record["init_weights_sha256"] as? String)?.count == 64)
        // The folder is a teacher: its first-frame head gives the first rollout row.
        let cache = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--teacher", out.path])
        #expect(cache.status == 0 && cache.stdout.contains("rollout row: first"), "\(cache.stdout)\(cache.stderr)")
        // Another checkpoint in the same run folder, a finetune config without --init, a .bin-only folder.
        let other = try TKDBinary.run(common + ["--init", fixtures.appendingPathComponent("base").path])
        #expect(other.status != 0 && other.stderr.contains("init_weights_sha256"), "\(other.stderr)")
        let bare = try TKDBinary.run(common)
        #expect(bare.status != 0 && bare.stderr.contains("--init"), "\(bare.stderr)")
        let pickled = dir.appendingPathComponent("pickled")
        try FileManager.default.createDirectory(at: pickled, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("base/config.json"), to: pickled.appendingPathComponent("config.json"))
        try Data([0x80]).write(to: pickled.appendingPathComponent("pytorch_model.bin"))
        let bin = try TKDBinary.run(
            [
                "teacher", "train", "--dataset", work.path, "--config", config.path, "--out",
                dir.appendingPathComponent("t2").path, "--init", pickled.path, "-q",
            ])
        #expect(bin.status != 0 && bin.stderr.contains("convert_to_safetensors.py"), "\(bin.stderr)")
    }
}
