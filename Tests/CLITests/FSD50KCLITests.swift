import Foundation
import TestSupport
import Testing

/// Issue 16's "done when": the FSD50K stand-in goes corpus → resample → features → teacher → cache → students
/// with the same CLI as Speech Commands, multi-label all the way (sigmoid heads, mAP, problem_type).
@Suite("FSD50K stand-in through the CLI (end to end)")
struct FSD50KCLITests {
    static let recipe = """
        version: 1
        kind: fsd50k
        name: fsd-test
        seed: 2
        output: {sample_rate: 16000, resample_quality: sinc-medium}
        variants:
          - name: crop
            clips: {mode: crop_pad, seconds: 2}
          - name: patches
            clips: {mode: patches, seconds: 1, hop_seconds: 0.5}
          - name: full
            clips: {mode: full}
        """

    static let student = """
        student: tc-resnet
        seed: 1
        batch_size: 8
        steps: 12
        eval_every: 4
        chunk: 4
        sampling: class_balanced
        optimizer: {kind: momentum, momentum: 0.9}
        schedule: {kind: constant, rate: 0.05}
        batch_norm_momentum: 0.8
        kd: {lambda: 0.25, temperature: 1, target: teacher}
        """

    func run(_ args: [String]) throws -> TKDBinary.Output {
        let r = try TKDBinary.run(args + ["-q"])
        #expect(r.status == 0, "tkd \(args.joined(separator: " ")): \(r.stderr)")
        return r
    }

    func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    @Test("corpus → generate → verify → features → teacher → cache → student, multi-label throughout")
    func pipeline() throws {
        let dir = try TestFolder.make("fsd50k-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = dir.appendingPathComponent("corpus"), data = dir.appendingPathComponent("data")
        _ = try run(["corpus", "demo", "--kind", "fsd50k", "--out", corpus.path, "--clips", "30", "--seed", "3"])
        let recipe = dir.appendingPathComponent("fsd.yaml")
        try Self.recipe.write(to: recipe, atomically: true, encoding: .utf8)
        let g = try run([
            "generate", "--recipe", recipe.path, "--corpus", corpus.path, "--out", data.path, "--jobs", "2",
        ])
        #expect(g.stdout.contains("multi-label"))
        let crop = data.appendingPathComponent("crop")
        let info = try json(crop.appendingPathComponent("dataset.json"))
        #expect(info["task"] as? String == "multi_label" && info["sample_rate"] as? Int == 16000)
        let v = try run(["verify", "--dataset", crop.path, "--corpus", corpus.path])
        #expect(v.stdout.contains("audio.rerender") && v.stdout.contains("every check passed"), "\(v.stdout)")

        // Features and a teacher cache on variable-length clips.
        let full = data.appendingPathComponent("full")
        _ = try run(["features", "store", "--dataset", full.path, "--preset", "kws-streaming-mfcc40"])
        let lengths = Set(
            try String(contentsOf: full.appendingPathComponent("manifests/training.jsonl"), encoding: .utf8)
                .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                .map { $0["num_samples"] as! Int })
        #expect(lengths.count > 5)

        // The bundled teacher on the cropped clips: sigmoid head, problem_type written.
        let tconfig = dir.appendingPathComponent("teacher.yaml")
        try (TeacherTrainCLITests.config + "\nsampling: class_balanced\n").write(
            to: tconfig, atomically: true, encoding: .utf8)
        let teacher = dir.appendingPathComponent("teacher")
        let tt = try run([
            "teacher", "train", "--config", tconfig.path, "--dataset", crop.path, "--out", teacher.path, "--jobs", "2",
        ])
        #expect(tt.stdout.contains("validation mAP"))
        #expect(
            try json(teacher.appendingPathComponent("config.json"))["problem_type"] as? String
                == "multi_label_classification")
        let tm = try json(teacher.appendingPathComponent("training/metrics.json"))
        #expect((tm["test"] as? [String: Any])?["multi_label"] != nil)
        for d in [crop, full] {
            let c = try run(["teacher", "cache", "--dataset", d.path, "--teacher", teacher.path, "--jobs", "2"])
            #expect(c.stdout.contains("examples with a keyword or events"))
        }

        // A student with temporal KD from the multi-label teacher's rollout.
        _ = try run(["features", "store", "--dataset", crop.path, "--preset", "kws-streaming-mfcc40"])
        let sconfig = dir.appendingPathComponent("student.yaml")
        try Self.student.write(to: sconfig, atomically: true, encoding: .utf8)
        let runs = dir.appendingPathComponent("runs")
        let t = try run([
            "train", "--dataset", crop.path, "--config", sconfig.path, "--runs", runs.path, "--name", "s", "--jobs",
            "2",
        ])
        #expect(t.stdout.contains("test mAP"))
        let folder = runs.appendingPathComponent("s")
        let m = try json(folder.appendingPathComponent("metrics.json"))
        let test = m["test"] as! [String: Any], ml = test["multi_label"] as! [String: Any]
        for key in ["macro_average_precision", "micro_average_precision", "d_prime", "lwlrap"] {
            #expect((ml[key] as? Double)?.isFinite == true, "\(key)")
        }
        #expect(test["mean_average_precision"] as? Double == ml["macro_average_precision"] as? Double)
        // Best by validation mAP: the best step is the (last) step with the highest validation_map.
        let history = try String(contentsOf: folder.appendingPathComponent("history.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let maps = history.map { $0["validation_map"] as! Double }
        let bestStep = history.last { ($0["validation_map"] as! Double) == maps.max()! }!["step"] as! Int
        #expect(m["best_step"] as? Int == bestStep)
        // tkd evaluate scores the best checkpoint's clips as the run did.
        let evaluated = dir.appendingPathComponent("evaluate.json")
        _ = try run([
            "evaluate", "--checkpoint", folder.appendingPathComponent("best.safetensors").path, "--dataset",
            crop.path, "--split", "testing", "--json", "--out", evaluated.path,
        ])
        let e = try json(evaluated)
        #expect(e["mean_average_precision"] as? Double == test["mean_average_precision"] as? Double)
        #expect((e["multi_label"] as? [String: Any])?["lwlrap"] as? Double == ml["lwlrap"] as? Double)

        // Patches: trained on 1-s patches with the stand-in's events as the oracle target, scored per clip (the
        // test split's clips, not its patches).
        let patches = data.appendingPathComponent("patches")
        _ = try run(["features", "store", "--dataset", patches.path, "--preset", "kws-streaming-mfcc40"])
        let lambda0 = Self.student.replacingOccurrences(
            of: "lambda: 0.25, temperature: 1, target: teacher", with: "lambda: 0.25, temperature: 1, target: oracle")
        try lambda0.write(to: sconfig, atomically: true, encoding: .utf8)
        _ = try run([
            "train", "--dataset", patches.path, "--config", sconfig.path, "--runs", runs.path, "--name", "p",
        ])
        let pm = try json(runs.appendingPathComponent("p/metrics.json"))
        let testClips = try String(
            contentsOf: patches.appendingPathComponent("manifests/testing.jsonl"), encoding: .utf8
        ).split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let clips = Set(testClips.map { ($0["clip"] as! [String: Any])["id"] as! String })
        #expect((pm["test"] as! [String: Any])["examples"] as? Int == clips.count && testClips.count > clips.count)

        // A changed source clip fails verify for every patch cut from it, each named (the clip is hashed once).
        let victim = testClips[0]["clip"] as! [String: Any]
        let patchesOfVictim = testClips.filter {
            ($0["clip"] as! [String: Any])["id"] as? String == victim["id"] as? String
        }
        try Data("changed".utf8).write(to: corpus.appendingPathComponent(victim["source"] as! String))
        let bad = try TKDBinary.run(["verify", "--dataset", patches.path, "--corpus", corpus.path, "-q"])
        #expect(bad.status != 0)
        let named = bad.stdout.split(separator: "\n").filter {
            $0.contains("source.clip-sha256") && $0.contains("\(victim["id"] as! String)-p")
        }
        #expect(named.count == patchesOfVictim.count && named.count > 1, "\(bad.stdout.prefix(2000))")
    }
}
