import Foundation
import TKDCore
import TestSupport
import Testing

/// Issue 15, point 2: `tkd study` end to end on a tiny recipe with the real binary — the ledger holds every cell
/// and the teacher, a rerun skips them all, a tampered entry is refused with a one-line reason, and
/// --rerun-stale runs it again.
@Suite("tkd study: the ledger")
struct StudyCLITests {
    /// A study folder: the committed study files, plus `tiny.yaml` (5 espeak-ng speakers, 2 s only, a 20-step
    /// teacher, 12-step students, λ 0 and λ 0.25 with the teacher, seeds 0 and 1).
    static func recipes(_ folder: URL) throws -> URL {
        let study = folder.appendingPathComponent("study")
        try FileManager.default.copyItem(at: TKDBinary.repo.appendingPathComponent("Recipes/study"), to: study)
        try? FileManager.default.removeItem(at: study.appendingPathComponent("cells"))
        var teacher = try String(contentsOf: study.appendingPathComponent("teacher.yaml"), encoding: .utf8)
        teacher = teacher.replacingOccurrences(of: "steps: 4000", with: "steps: 20")
            .replacingOccurrences(of: "eval_every: 200", with: "eval_every: 10")
        try Data(teacher.utf8).write(to: study.appendingPathComponent("tiny-teacher.yaml"))
        let tiny = """
            name: tiny
            corpus: {speakers: 5, utterances: 1, engines: [espeak-ng], held_out: 2}
            generate: noisy.yaml
            lengths: [2s]
            teacher: {base: 2s, config: tiny-teacher.yaml}
            students: {tc-resnet: tc-resnet.yaml}
            grid:
              - {lambda: 0.25, target: teacher}
            seeds: [0, 1]
            steps: {2s: 12}
            bootstrap: {replicates: 200}

            """
        try Data(tiny.utf8).write(to: study.appendingPathComponent("tiny.yaml"))
        return study.appendingPathComponent("tiny.yaml")
    }

    @Test("a study runs end to end; a rerun skips every ledger entry; a stale entry is refused, then rerun")
    func ledger() throws {
        let folder = try TestFolder.make("study-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = try Self.recipes(folder)
        let out = folder.appendingPathComponent("work"), ledger = folder.appendingPathComponent("ledger")
        let args = ["study", "--recipe", recipe.path, "--out", out.path, "--ledger", ledger.path, "--jobs", "2"]
        let first = try TKDBinary.run(args)
        #expect(first.status == 0, "\(first.stdout.suffix(2000))\n\(first.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: ledger.path).sorted()
        #expect(
            names == [
                "tiny-2s-tc-resnet-l0-s0.json", "tiny-2s-tc-resnet-l0-s1.json",
                "tiny-2s-tc-resnet-l0.25-teacher-s0.json",
                "tiny-2s-tc-resnet-l0.25-teacher-s1.json", "tiny-2s-teacher.json", "tiny-stages.json",
            ])
        #expect(first.stdout.contains("| | tc-resnet | "), "\(first.stdout.suffix(1500))")
        #expect(first.stdout.contains("teacher bar at 2s"))
        for file in ["study.json", "study.md", "study.html"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
        // The provenance's total counts every stage once: a teacher's row repeats its train and cache stages
        // (here made 10 and 1 minutes long in the ledger; the tiny ones take under the 2 s a stage needs to be
        // recorded) and is not added again.
        let stagesFile = ledger.appendingPathComponent("tiny-stages.json")
        var stages = try JSONSerialization.jsonObject(with: Data(contentsOf: stagesFile)) as! [String: Any]
        var table = stages["stages"] as! [String: Any]
        table["teacher train 2s"] = ["seconds": 600.0, "machine": "m", "tool": "t"]
        table["teacher cache 2s"] = ["seconds": 60.0, "machine": "m", "tool": "t"]
        stages["stages"] = table
        try JSONSerialization.data(withJSONObject: stages).write(to: stagesFile)
        let teacherFile = ledger.appendingPathComponent("tiny-2s-teacher.json")
        var teacherEntry = try JSONSerialization.jsonObject(with: Data(contentsOf: teacherFile)) as! [String: Any]
        teacherEntry["wall_seconds"] = 660.0
        try JSONSerialization.data(withJSONObject: teacherEntry).write(to: teacherFile)
        let report = try TKDBinary.run(args + ["--stage", "report"])
        #expect(report.status == 0, "\(report.stderr)")
        let md = try String(contentsOf: out.appendingPathComponent("study.md"), encoding: .utf8)
        let rows = md.components(separatedBy: "## Provenance").last!.split(separator: "\n")
            .filter { $0.hasPrefix("| ") && !$0.hasPrefix("| stage") }
            .map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        let total = rows.first { $0[0] == "**total**" }.flatMap {
            Double($0[1].replacingOccurrences(of: "*", with: ""))
        }
        let counted = rows.filter { $0[0] != "**total**" && !$0[0].hasPrefix("teacher 2s (") }
        #expect(rows.contains { $0[0] == "teacher train 2s" && $0[1] == "10.0" }, "\(rows)")
        #expect(
            rows.contains { $0[0].hasPrefix("teacher 2s (trained; = its train + cache stages)") && $0[1] == "11.0" },
            "\(rows)")
        let sum = counted.compactMap { Double($0[1]) }.reduce(0, +)
        #expect(
            total != nil && abs(total! - sum) <= 0.05 * Double(counted.count) + 1e-9,
            "total \(String(describing: total)), rows \(sum)")
        let page = try String(contentsOf: out.appendingPathComponent("study.html"), encoding: .utf8)
        #expect(page.contains("Fig. 2") && page.contains("<svg") && page.contains("2s-tc-resnet-l0.25-teacher-s0"))
        #expect(page.components(separatedBy: "Where the evidence is").count == 2, "one heading for the examples")
        let cell = ledger.appendingPathComponent("tiny-2s-tc-resnet-l0.25-teacher-s1.json")
        let entry = try JSONSerialization.jsonObject(with: Data(contentsOf: cell)) as! [String: Any]
        let fingerprints = entry["fingerprints"] as! [String: Any]
        #expect((fingerprints["teacher"] as? String)?.count == 64)
        #expect(((entry["test"] as! [String: Any])["examples"] as! Int) > 0)

        // Everything is in the ledger: nothing is trained again, and the work folder may even be gone.
        try FileManager.default.removeItem(at: out)
        let again = try TKDBinary.run(args)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("4 in the ledger") && !again.stdout.contains("$ tkd train"), "\(again.stdout)")
        #expect(!again.stdout.contains("$ tkd corpus demo"), "no stage re-derived when nothing is pending")

        // A pending cell makes the data re-derive; a tampered entry of that length is then refused.
        try FileManager.default.removeItem(at: ledger.appendingPathComponent("tiny-2s-tc-resnet-l0-s1.json"))
        let stale = ledger.appendingPathComponent("tiny-2s-tc-resnet-l0-s0.json")
        let text = try String(contentsOf: stale, encoding: .utf8)
        let recorded =
            ((try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any])["fingerprints"]
            as! [String: Any])["data"] as! String
        try Data(text.replacingOccurrences(of: recorded, with: String(repeating: "0", count: 64)).utf8).write(to: stale)
        let refused = try TKDBinary.run(args)
        #expect(refused.status != 0)
        let line = refused.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(
            line.contains(stale.path) && line.contains("data 0000000000000000") && line.contains("--rerun-stale"),
            "\(refused.stderr)")
        let rerun = try TKDBinary.run(args + ["--rerun-stale"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(
            rerun.stdout.contains("--name 2s-tc-resnet-l0-s0") && rerun.stdout.contains("--name 2s-tc-resnet-l0-s1"))
        let fixed = try String(contentsOf: stale, encoding: .utf8)
        #expect(fixed.contains(recorded))
    }

    @Test("bad input to tkd study and tkd corpus demo: one line naming the value and what was expected")
    func badInput() throws {
        let folder = try TestFolder.make("study-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let engine = try TKDBinary.run(["corpus", "demo", "--out", folder.path, "--engines", "espeak-ng,espeak"])
        #expect(engine.status != 0)
        #expect(engine.stderr.contains("'espeak'") && engine.stderr.contains("flite"), "\(engine.stderr)")
        let heldOut = try TKDBinary.run(["corpus", "demo", "--out", folder.path, "--held-out", "5"])
        #expect(heldOut.status != 0 && heldOut.stderr.contains("--held-out"), "\(heldOut.stderr)")
        let recipe = try Self.recipes(folder)
        let shard = try TKDBinary.run(["study", "--recipe", recipe.path, "--out", folder.path, "--shard", "0/2"])
        #expect(shard.status != 0 && shard.stderr.contains("--stage cells"), "\(shard.stderr)")
        let badShard = try TKDBinary.run([
            "study", "--recipe", recipe.path, "--out", folder.path, "--stage", "cells", "--shard", "2/2",
        ])
        #expect(badShard.status != 0 && badShard.stderr.contains("2/2"), "\(badShard.stderr)")
        // Cells before the data is prepared: refused, naming the dataset.
        let early = try TKDBinary.run([
            "study", "--recipe", recipe.path, "--out", folder.appendingPathComponent("w").path, "--stage", "cells",
        ])
        #expect(early.status != 0 && early.stderr.contains("--stage prepare"), "\(early.stderr)")
    }

    @Test("a cluster's stages: prepare, an array task's cells (shard from Slurm's variables), exit 75 and resume")
    func stages() throws {
        let folder = try TestFolder.make("study-stages")
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = try Self.recipes(folder)
        let out = folder.appendingPathComponent("work"), ledger = folder.appendingPathComponent("ledger")
        let args = ["study", "--recipe", recipe.path, "--out", out.path, "--ledger", ledger.path, "--jobs", "2"]
        func cells() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: ledger.path).filter { $0.contains("tc-resnet") }
                .sorted()
        }
        // Only the λ = 0 cells now: no teacher is trained.
        let baseline = try TKDBinary.run(args + ["--targets", "none"])
        #expect(baseline.status == 0, "\(baseline.stderr)")
        #expect(!baseline.stdout.contains("$ tkd teacher train"))
        #expect(try cells() == ["tiny-2s-tc-resnet-l0-s0.json", "tiny-2s-tc-resnet-l0-s1.json"])
        let prepare = try TKDBinary.run(args + ["--stage", "prepare"])
        #expect(prepare.status == 0, "\(prepare.stderr)")
        #expect(prepare.stdout.contains("$ tkd teacher train") && !prepare.stdout.contains("$ tkd train"))
        // Task 1 of 2 owns cells 1 and 3 of the grid (seed 1 at λ 0, done, and seed 1 with the teacher).
        let slurm = ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0"]
        let task1 = try TKDBinary.run(args + ["--stage", "cells"], environment: slurm)
        #expect(task1.status == 0, "\(task1.stderr)")
        #expect(task1.stdout.contains("1 pending cell"), "\(task1.stdout.prefix(300))")
        #expect(try cells().count == 3 && cells().contains("tiny-2s-tc-resnet-l0.25-teacher-s1.json"))
        // Task 0 runs out of time in its cell: exit 75, nothing recorded; run again, it resumes and finishes.
        let task0 = slurm.merging(["SLURM_ARRAY_TASK_ID": "0"]) { $1 }
        let stopped = try TKDBinary.run(
            args + ["--stage", "cells", "--stop-after-minutes", "0.000001"], environment: task0)
        #expect(stopped.status == 75, "\(stopped.stdout.suffix(500))\n\(stopped.stderr)")
        #expect(try cells().count == 3)
        let resumed = try TKDBinary.run(args + ["--stage", "cells"], environment: task0)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect((resumed.stdout + resumed.stderr).contains("resuming 2s-tc-resnet-l0.25-teacher-s0 from step"))
        #expect(try cells().count == 4)
        let report = try TKDBinary.run(args + ["--stage", "report"])
        #expect(report.status == 0 && !report.stdout.contains("missing:"), "\(report.stdout)")
    }

    @Test("blocks on a named schedule, every cell and the teacher scored on a real-speech test set, curves kept")
    func blocksAndRealSpeech() throws {
        let folder = try TestFolder.make("study-blocks")
        defer { try? FileManager.default.removeItem(at: folder) }
        let tiny = try Self.recipes(folder)
        let study = tiny.deletingLastPathComponent()
        let out = folder.appendingPathComponent("work"), ledger = folder.appendingPathComponent("ledger")
        // The tiny recipe with a block on a named schedule (16 steps, validating every 4), a λ = 0 block on the
        // default schedule, and real speech.
        var text = try String(contentsOf: tiny, encoding: .utf8)
        text = text.replacingOccurrences(of: "name: tiny", with: "name: blocks")
            .replacingOccurrences(of: "grid:\n  - {lambda: 0.25, target: teacher}\n", with: "")
        text += """
            schedules:
              long: {steps: {2s: 16}, eval_every: 4}
            blocks:
              - {schedule: long, lengths: [2s], students: [tc-resnet], grid: [{lambda: 0.25, target: teacher}]}
              - {lengths: [2s], students: [tc-resnet]}
            real_speech: {generate: noisy-real.yaml}

            """
        let recipe = study.appendingPathComponent("blocks.yaml")
        try Data(text.utf8).write(to: recipe)
        let args = [
            "study", "--recipe", recipe.path, "--out", out.path, "--ledger", ledger.path, "--jobs", "2",
        ]
        // Without --real-corpus, a recipe with real_speech refuses to run cells, saying what it needs.
        let refused = try TKDBinary.run(args)
        #expect(refused.status != 0 && refused.stderr.contains("--real-corpus"), "\(refused.stderr)")
        // A stand-in for the real slice: a few clips of the study's own corpus under speaker names the official
        // hash rule puts in testing (as every real clip is), and its noise; "learn" makes it a v2 layout.
        let corpus = out.appendingPathComponent("corpus"), real = folder.appendingPathComponent("real")
        let candidates = (0..<60).map { String(format: "%08x", 0xa000_0000 + $0) + "_nohash_0.wav" }
        let sets = try TKDBinary.run(["corpus", "which-set"] + candidates)
        let testing = sets.stdout.split(separator: "\n").filter { $0.hasSuffix("\ttesting") }
            .map { String($0.split(separator: "\t")[0].split(separator: "_")[0]) }
        #expect(testing.count >= 4, "\(sets.stdout)")
        let fm = FileManager.default
        try fm.createDirectory(at: real, withIntermediateDirectories: true)
        try fm.copyItem(
            at: corpus.appendingPathComponent("_background_noise_"),
            to: real.appendingPathComponent("_background_noise_"))
        for word in ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "learn"] {
            let clips = try fm.contentsOfDirectory(atPath: corpus.appendingPathComponent(word).path).sorted()
            try fm.createDirectory(at: real.appendingPathComponent(word), withIntermediateDirectories: true)
            for (clip, speaker) in zip(clips, testing) {
                try fm.copyItem(
                    at: corpus.appendingPathComponent(word).appendingPathComponent(clip),
                    to: real.appendingPathComponent(word).appendingPathComponent("\(speaker)_nohash_0.wav"))
            }
        }
        let run = try TKDBinary.run(args + ["--real-corpus", real.path])
        #expect(run.status == 0, "\(run.stdout.suffix(2000))\n\(run.stderr)")
        let names = try fm.contentsOfDirectory(atPath: ledger.path).sorted()
        #expect(
            names == [
                "blocks-2s-tc-resnet-l0-s0-long.json", "blocks-2s-tc-resnet-l0-s0.json",
                "blocks-2s-tc-resnet-l0-s1-long.json", "blocks-2s-tc-resnet-l0-s1.json",
                "blocks-2s-tc-resnet-l0.25-teacher-s0-long.json", "blocks-2s-tc-resnet-l0.25-teacher-s1-long.json",
                "blocks-2s-teacher.json", "blocks-stages.json",
            ], "\(names)")
        func entry(_ name: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: ledger.appendingPathComponent(name)))
                as! [String: Any]
        }
        let long = try entry("blocks-2s-tc-resnet-l0.25-teacher-s1-long.json")
        #expect(long["schedule"] as? String == "long" && long["steps"] as? Int == 16)
        let curve = try #require(long["validation_curve"] as? [[Double]])
        #expect(curve.map { $0[0] } == [4, 8, 12, 16], "validated every 4 steps: \(curve)")
        let realScore = try #require(long["real_speech"] as? [String: Any])
        let examples = try #require(realScore["examples"] as? Int)
        #expect(examples >= 4 * 10 && (realScore["correct"] as? String)?.isEmpty == false)
        #expect(try entry("blocks-2s-tc-resnet-l0-s0.json")["schedule"] == nil, "the default schedule: no field")
        let teacher = try entry("blocks-2s-teacher.json")
        #expect((teacher["real_speech"] as? [String: Any])?["examples"] as? Int == examples)
        // The real-speech set has only a testing split, made from the stand-in.
        let manifests = out.appendingPathComponent("real/2s/manifests")
        #expect(fm.fileExists(atPath: manifests.appendingPathComponent("testing.jsonl").path))
        let md = try String(contentsOf: out.appendingPathComponent("study.md"), encoding: .utf8)
        #expect(md.contains("## Table 2 layout: long schedule, real speech"), "\(md.prefix(1500))")
        #expect(md.contains("## Convergence") && md.contains("| 2s | tc-resnet | long | λ = 0 | 16 |"))
        let page = try String(contentsOf: out.appendingPathComponent("study.html"), encoding: .utf8)
        #expect(page.contains("Validation curves") && page.contains("On real speech"))

        // A later sitting on another CPU: its retrained teacher differs in the last bits. Stand-in: the recorded
        // teacher and the seed-0 teacher cell carry another fingerprint, the seed-1 cell is pending. The sitting
        // records its teacher beside the first (no stale error), keeps the seed-0 cell and pairs the new cell
        // with its own teacher.
        func rewrite(_ name: String, teacher fingerprint: String) throws {
            var e = try entry(name)
            var f = try #require(e["fingerprints"] as? [String: Any])
            f["teacher"] = fingerprint
            e["fingerprints"] = f
            try JSONSerialization.data(withJSONObject: e, options: [.sortedKeys, .prettyPrinted])
                .write(to: ledger.appendingPathComponent(name))
        }
        let current = try #require((teacher["fingerprints"] as? [String: Any])?["teacher"] as? String)
        try rewrite("blocks-2s-teacher.json", teacher: "0123456789ab-earlier-cpu")
        try rewrite("blocks-2s-tc-resnet-l0.25-teacher-s0-long.json", teacher: "0123456789ab-earlier-cpu")
        try fm.removeItem(at: ledger.appendingPathComponent("blocks-2s-tc-resnet-l0.25-teacher-s1-long.json"))
        let again = try TKDBinary.run(args + ["--real-corpus", real.path])
        #expect(again.status == 0, "\(again.stdout.suffix(2000))\n\(again.stderr)")
        #expect(again.stdout.contains("recorded beside it"), "\(again.stdout.suffix(2000))")
        let second = "blocks-2s-teacher-\(current.prefix(12)).json"
        #expect(fm.fileExists(atPath: ledger.appendingPathComponent(second).path))
        func teacherOf(_ name: String) throws -> String? {
            (try entry(name)["fingerprints"] as? [String: Any])?["teacher"] as? String
        }
        #expect(try teacherOf("blocks-2s-tc-resnet-l0.25-teacher-s0-long.json") == "0123456789ab-earlier-cpu")
        #expect(try teacherOf("blocks-2s-tc-resnet-l0.25-teacher-s1-long.json") == current)
        let twice = try String(contentsOf: out.appendingPathComponent("study.md"), encoding: .utf8)
        #expect(twice.contains("cache 0123456789ab") && twice.contains("cache \(current.prefix(12))"))
    }
}
