import Foundation
import TestSupport
import Testing

@Suite("tkd train / evaluate (end to end)")
struct TrainCLITests {
    /// TC-ResNet, short: 60 steps of 8 examples, validation every 30, chunks of 4 examples, attention KD.
    /// Without SpecAugment the 24 training examples are fitted quickly. Measured 2026-12-07 over seeds 1-4 and five
    /// OpenBLAS kernel families (the default, Haswell, Zen, SandyBridge, Prescott; AMD EPYC): the last checkpoint
    /// scored 0.46-0.75 on the training split (chance: 1/12). The best checkpoint is chosen on 24 validation
    /// examples, often at step 30, and scored 0.21-0.75: seed 3 gave exactly 0.25 under Haswell and Zen, which
    /// failed CI when the strong bound (> 3/12) was read off the best checkpoint. So the strong bound is read off
    /// the last checkpoint, and the best one is held only to above chance.
    static let config = """
        student: tc-resnet
        seed: 3
        batch_size: 8
        steps: 60
        eval_every: 30
        chunk: 4
        optimizer: {kind: momentum, momentum: 0.9}
        schedule: {kind: constant, rate: 0.05}
        batch_norm_momentum: 0.8
        spec_augment: null
        time_shift_frames: 2
        kd: {lambda: 0.5, temperature: 1, target: oracle}
        """

    /// The same with SpecAugment, for the resume test (its stripes are keyed by the step).
    static let augmented = config.replacingOccurrences(
        of: "spec_augment: null",
        with: "spec_augment: {time_masks: 1, time_width: 5, frequency_masks: 1, frequency_width: 3}")

    static func writeConfig(_ text: String = config) throws -> URL {
        let url = TestFolder.path("config").appendingPathExtension("yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func history(_ run: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: run.appendingPathComponent("history.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test("train with attention KD: loss falls, files written, evaluate scores the last checkpoint well above chance")
    func trainAndEvaluate() throws {
        let dataset = try CLIDataset.small()
        let config = try Self.writeConfig()
        let runs = TestFolder.path("runs")
        defer { for u in [config, runs] { try? FileManager.default.removeItem(at: u) } }
        let t = try TKDBinary.run([
            "train", "--dataset", dataset.path, "--config", config.path, "--runs", runs.path, "--name", "a", "-q",
        ])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stdout.contains("test accuracy"))
        let run = runs.appendingPathComponent("a")
        for file in [
            "config.json", "best.safetensors", "best.json", "last.safetensors", "last.json", "history.jsonl",
            "metrics.json",
        ] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), "\(file)")
        }
        let h = try history(run)
        #expect(h.count == 2)
        let first = h.first?["train_loss"] as? Double ?? 0, last = h.last?["train_loss"] as? Double ?? .infinity
        #expect(last < first, "train loss \(first) → \(last)")
        #expect((h.first?["train_attention_kd"] as? Double ?? 0) > 0)
        let best =
            try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("best.json")))
            as? [String: Any]
        #expect(best?["training_only"] as? [String] == ["kd.query"])
        #expect(best?["kd_lambda"] as? Double == 0.5 && best?["kd_target"] as? String == "oracle")
        #expect(
            (best?["labels"] as? [String])?.count == 12 && best?["feature_preset"] as? String == "kws-streaming-mfcc40")

        // The training split, scored by the inference model: the model has learnt well above chance (1/12) by the
        // last step, and the checkpoint validation chose is above chance too.
        func trainingMetrics(_ checkpoint: String) throws -> [String: Any]? {
            let e = try TKDBinary.run([
                "evaluate", "--checkpoint", run.appendingPathComponent("\(checkpoint).safetensors").path,
                "--dataset", dataset.path, "--split", "training", "--json", "-q",
            ])
            #expect(e.status == 0, "\(e.stderr)")
            return try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any]
        }
        let lastMetrics = try trainingMetrics("last"), bestMetrics = try trainingMetrics("best")
        let lastAccuracy = lastMetrics?["accuracy"] as? Double ?? 0
        let bestAccuracy = bestMetrics?["accuracy"] as? Double ?? 0
        #expect(lastAccuracy > 3.0 / 12, "last checkpoint's training accuracy \(lastAccuracy)")
        #expect(bestAccuracy > 1.0 / 12, "best checkpoint's training accuracy \(bestAccuracy)")
        #expect(
            (bestMetrics?["confusion"] as? [[Int]])?.count == 12 && (bestMetrics?["per_class"] as? [Any])?.count == 12)
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("best.training-metrics.json").path))
        let table = try TKDBinary.run([
            "evaluate", "--checkpoint", run.appendingPathComponent("best.safetensors").path,
            "--dataset", dataset.path,
        ])
        #expect(table.status == 0 && table.stdout.contains("testing:") && table.stdout.contains("precision"))
    }

    @Test("a run stopped part-way and resumed with --jobs 2 ends byte-identical to an uninterrupted --jobs 1 run")
    func resumeAndJobs() throws {
        let dataset = try CLIDataset.small()
        let config = try Self.writeConfig(Self.augmented)
        let one = TestFolder.path("runs-1"), two = TestFolder.path("runs-2")
        defer { for u in [config, one, two] { try? FileManager.default.removeItem(at: u) } }
        let base = ["train", "--dataset", dataset.path, "--config", config.path, "--name", "r", "-q"]
        let a = try TKDBinary.run(base + ["--runs", one.path, "--jobs", "1"])
        #expect(a.status == 0, "\(a.stderr)")
        let stop = try TKDBinary.run(base + ["--runs", two.path, "--jobs", "2", "--stop-after", "13"])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.contains("stopped at step 13 of 60"))
        let again = try TKDBinary.run(base + ["--runs", two.path, "--jobs", "2", "--stop-after", "14"])
        #expect(again.stdout.contains("stopped at step 27 of 60"), "\(again.stdout)\(again.stderr)")
        let finish = try TKDBinary.run(base + ["--runs", two.path, "--jobs", "2"])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(finish.stderr.contains("resuming r from step 27"))
        let x = try TestFolder.digests(one.appendingPathComponent("r")),
            y = try TestFolder.digests(two.appendingPathComponent("r"))
        #expect(!x.isEmpty && x == y)
    }

    @Test("killed after best and history but before last: the resumed run is byte-identical to an uninterrupted one")
    func killBetweenWrites() throws {
        let dataset = try CLIDataset.small()
        let config = try Self.writeConfig()
        let one = TestFolder.path("runs-whole"), two = TestFolder.path("runs-killed")
        defer { for u in [config, one, two] { try? FileManager.default.removeItem(at: u) } }
        let base = ["train", "--dataset", dataset.path, "--config", config.path, "--name", "r", "-q"]
        let a = try TKDBinary.run(base + ["--runs", one.path])
        #expect(a.status == 0, "\(a.stderr)")
        let run = two.appendingPathComponent("r")
        let stop = try TKDBinary.run(base + ["--runs", two.path, "--stop-after", "30"])
        #expect(stop.status == 0 && stop.stdout.contains("stopped at step 30 of 60"), "\(stop.stdout)\(stop.stderr)")
        let lastState = try Data(contentsOf: run.appendingPathComponent("last.safetensors"))
        let lastJSON = try Data(contentsOf: run.appendingPathComponent("last.json"))
        let rest = try TKDBinary.run(base + ["--runs", two.path])
        #expect(rest.status == 0, "\(rest.stderr)")
        // The state as a kill would leave it between writing history.jsonl (step 60 there) and last (still at
        // step 30), before metrics.json: best and history ahead of the state.
        try lastState.write(to: run.appendingPathComponent("last.safetensors"))
        try lastJSON.write(to: run.appendingPathComponent("last.json"))
        try FileManager.default.removeItem(at: run.appendingPathComponent("metrics.json"))
        #expect(try history(run).map { $0["step"] as? Int } == [30, 60])
        let resumed = try TKDBinary.run(base + ["--runs", two.path])
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming r from step 30"), "\(resumed.stderr)")
        let x = try TestFolder.digests(one.appendingPathComponent("r")), y = try TestFolder.digests(run)
        #expect(!x.isEmpty && x == y)
    }

    @Test("bad input: missing feature store, config typo, another run's folder, missing checkpoint")
    func errors() throws {
        let dataset = try CLIDataset.small()
        let runs = TestFolder.path("runs-bad")
        defer { try? FileManager.default.removeItem(at: runs) }
        let lstm = try Self.writeConfig("student: lstm-p\nsteps: 2\n")
        defer { try? FileManager.default.removeItem(at: lstm) }
        let missing = try TKDBinary.run([
            "train", "--dataset", dataset.path, "--config", lstm.path, "--runs", runs.path,
        ])
        #expect(
            missing.status != 0 && missing.stderr.contains("features/kws-streaming-mfcc20")
                && missing.stderr.contains("tkd features --dataset"), "\(missing.stderr)")

        let typo = try Self.writeConfig("student: tc-resnet\nsteps: 2\nbatch_sise: 4\n")
        defer { try? FileManager.default.removeItem(at: typo) }
        let t = try TKDBinary.run(["train", "--dataset", dataset.path, "--config", typo.path, "--runs", runs.path])
        #expect(t.status != 0 && t.stderr.contains(":3") && t.stderr.contains("batch_sise"), "\(t.stderr)")

        let small = try Self.writeConfig(
            "student: tc-resnet\nsteps: 2\nbatch_size: 4\neval_every: 2\nbatch_norm_momentum: 0.5\n")
        defer { try? FileManager.default.removeItem(at: small) }
        let ok = try TKDBinary.run([
            "train", "--dataset", dataset.path, "--config", small.path, "--runs", runs.path, "--name", "x", "-q",
        ])
        #expect(ok.status == 0, "\(ok.stderr)")
        let other = try TKDBinary.run([
            "train", "--dataset", dataset.path, "--config", small.path, "--runs", runs.path, "--name", "x",
            "--seed", "9", "-q",
        ])
        #expect(other.status != 0 && other.stderr.contains("seed"), "\(other.stderr)")

        let none = try TKDBinary.run([
            "evaluate", "--checkpoint", runs.appendingPathComponent("nope.safetensors").path,
            "--dataset", dataset.path,
        ])
        #expect(none.status != 0 && none.stderr.contains("nope.safetensors"))
        let target = try TKDBinary.run([
            "train", "--dataset", dataset.path, "--config", small.path, "--kd-target", "teacher:beef",
        ])
        #expect(target.status != 0 && target.stderr.contains("teachers/beef"), "\(target.stderr)")
    }
}
