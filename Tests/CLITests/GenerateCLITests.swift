import Foundation
import TKDCore
import TestSupport
import Testing

@Suite("tkd generate (end to end)")
struct GenerateCLITests {
    static let demoRecipe = TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path

    @Test("a run killed part-way and started again ends byte-identical to an uninterrupted run")
    func killAndResume() throws {
        let corpus = try CLICorpus.small()
        let reference = TestFolder.path("ref")
        let killed = TestFolder.path("killed")
        defer { for d in [reference, killed] { try? FileManager.default.removeItem(at: d) } }
        let ref = try TKDBinary.run([
            "generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", reference.path,
            "--variant", "8s", "-q",
        ])
        #expect(ref.status == 0, "\(ref.stderr)")

        let p = Process()
        p.executableURL = TKDBinary.url
        p.arguments = [
            "generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", killed.path, "--variant", "8s",
            "-q",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Kill it once a handful of examples are journalled (or give up waiting after 60 s).
        let journal = killed.appendingPathComponent(".tkd-work/journal-0-of-1.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && p.isRunning {
            let lines = (try? Data(contentsOf: journal))?.filter { $0 == 0x0A }.count ?? 0
            if lines >= 8 { break }
            usleep(2000)
        }
        let wasRunning = p.isRunning
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(wasRunning, "the run finished before it could be interrupted; the test proved nothing")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("dataset.json").path))

        let resumed = try TKDBinary.run([
            "generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", killed.path,
            "--variant", "8s", "-q",
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("already done"))
        #expect(
            !resumed.stdout.contains(" 0 already done"),
            "the resumed run reused the killed run's work: \(resumed.stdout)")
        #expect(try TestFolder.digests(killed) == TestFolder.digests(reference))
    }

    @Test("Slurm array variables shard the run; the merged result equals a single run, one folder per variant")
    func slurm() throws {
        let corpus = try CLICorpus.small()
        let whole = TestFolder.path("whole")
        let array = TestFolder.path("array")
        defer { for d in [whole, array] { try? FileManager.default.removeItem(at: d) } }
        let w = try TKDBinary.run([
            "generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", whole.path, "--jobs", "2",
        ])
        #expect(w.status == 0, "\(w.stderr)")
        #expect(w.stdout.contains("_silence_") && w.stdout.contains("(all)"), "the class table is printed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: whole.path).sorted() == ["2s", "8s"])
        for task in ["1", "0"] {
            let t = try TKDBinary.run(
                ["generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", array.path, "-q"],
                environment: ["SLURM_ARRAY_TASK_ID": task, "SLURM_ARRAY_TASK_COUNT": "2"])
            #expect(t.status == 0, "\(t.stderr)")
            #expect(t.stdout.contains("shard \(task)/2"))
        }
        #expect(try TestFolder.digests(array) == TestFolder.digests(whole))
        let bad = try TKDBinary.run([
            "generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", array.path, "--shard", "2/2",
        ])
        #expect(bad.status != 0 && bad.stderr.contains("--shard") && bad.stderr.contains("2/2"))
    }

    @Test("three shards: two start together, a third late; the one merge gives a single run's dataset")
    func concurrentShards() throws {
        let corpus = try CLICorpus.small()
        let whole = TestFolder.path("whole-8s"), sharded = TestFolder.path("sharded-8s")
        defer { for d in [whole, sharded] { try? FileManager.default.removeItem(at: d) } }
        let base = ["generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--variant", "8s", "-q"]
        let w = try TKDBinary.run(base + ["--out", whole.path])
        #expect(w.status == 0, "\(w.stderr)")
        func start(_ shard: String) throws -> (Process, Pipe) {
            let p = Process(), err = Pipe()
            p.executableURL = TKDBinary.url
            p.arguments = base + ["--out", sharded.path, "--shard", shard]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            try p.run()
            return (p, err)
        }
        let first = try start("0/3"), second = try start("1/3")
        // The third starts while the others run: its cleanup must leave their temporaries alone.
        let journal = sharded.appendingPathComponent(".tkd-work/journal-0-of-3.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && first.0.isRunning
            && ((try? Data(contentsOf: journal))?.filter { $0 == 0x0A }.count ?? 0) < 4
        {
            usleep(2000)
        }
        let overlapped = first.0.isRunning || second.0.isRunning
        let third = try start("2/3")
        for (p, err) in [first, second, third] {
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationReason == .exit && p.terminationStatus == 0, "\(message)")
        }
        #expect(overlapped, "the first shards finished before the third started; the test proved nothing")
        #expect(
            try TestFolder.digests(sharded, includeHidden: false) == TestFolder.digests(whole, includeHidden: false))
        let leftovers = try TestFolder.digests(sharded).keys.filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty, "temporaries left: \(leftovers.sorted())")
    }

    @Test("plan-only then render gives the same dataset as generating audio directly")
    func planOnlyRender() throws {
        let corpus = try CLICorpus.small()
        let direct = TestFolder.path("direct")
        let planned = TestFolder.path("planned")
        defer { for d in [direct, planned] { try? FileManager.default.removeItem(at: d) } }
        _ = try TKDBinary.run([
            "generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", direct.path, "--variant", "2s",
            "-q",
        ])
        let plan = try TKDBinary.run([
            "generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", planned.path,
            "--variant", "2s", "--plan-only", "-q",
        ])
        #expect(plan.status == 0 && plan.stdout.contains("plan only"))
        let render = try TKDBinary.run([
            "render", "--dataset", planned.path, "--corpus", corpus.path, "--jobs", "2", "-q",
        ])
        #expect(render.status == 0, "\(render.stderr)")
        #expect(try TestFolder.digests(planned) == TestFolder.digests(direct))
    }

    @Test("recipe typos and bad corpora exit non-zero with one line naming file, line and key")
    func errors() throws {
        let corpus = try CLICorpus.small()
        let dir = TestFolder.path("errors")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("typo.yaml")
        try Data(
            "version: 1\nname: t\nvariants:\n  - {name: a, length_seconds: 2}\nnoise:\n  crosfade_seconds: 0.1\n".utf8
        ).write(to: recipe)
        let typo = try TKDBinary.run([
            "generate", "--recipe", recipe.path, "--corpus", corpus.path, "--out", dir.appendingPathComponent("o").path,
        ])
        #expect(typo.status != 0)
        #expect(typo.stderr.contains("\(recipe.path):6: 'noise.crosfade_seconds': unknown key"))
        #expect(typo.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1)
        let variant = try TKDBinary.run([
            "generate", "--recipe", Self.demoRecipe, "--corpus", corpus.path, "--out", dir.path, "--variant", "3s",
        ])
        #expect(variant.status != 0 && variant.stderr.contains("--variant 3s") && variant.stderr.contains("2s, 8s"))
        let missing = try TKDBinary.run([
            "generate", "--recipe", Self.demoRecipe, "--corpus", "/nonexistent/sc", "--out", dir.path,
        ])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/sc"))
        #expect(
            !FileManager.default.fileExists(atPath: dir.appendingPathComponent("2s").path),
            "nothing written on bad input")
    }
}
