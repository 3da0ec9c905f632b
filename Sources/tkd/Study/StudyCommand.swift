import ArgumentParser
import DatasetFormat
import Foundation
import Study
import TKDCore
import Training

/// `tkd study --recipe Recipes/study/<preset>.yaml --out DIR [--ledger DIR] [--stage S] [--shard I/N]`
struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract:
            "Run a Table 2 study: corpus → lengths → features → one teacher per length → students × λ "
            + "× seeds → statistics.",
        discussion: """
            Every step is the tkd command of the same name, run in DIR: corpus demo (the recipe's engines, \
            speakers and variation) → corpus index → generate (one dataset per length) → features → verify → \
            per length: the λ = 0 students → teacher train at the base length, fine-tuned (--init) at every \
            other length → teacher cache → the teacher-target students → the oracle-target students; then the \
            table. Each finished student run becomes a ledger \
            entry (--ledger, default DIR/cells): its metrics, seed, which test examples it got right, its \
            attention's localisation and the fingerprints of its data, features, teacher and config. A rerun — \
            on this machine or a fresh one — skips every cell the ledger holds and re-derives only what pending \
            cells need; an entry whose fingerprints no longer match what this sitting derives is refused \
            (--rerun-stale replaces it). The table is made from the ledger alone: test accuracy mean ± sd over \
            seeds, the paired difference to λ = 0 (same seed, same test examples) with a 95 % interval from a \
            two-level bootstrap over seeds and test examples and a t-interval over seeds, the teacher's row and \
            bar, and the students' attention localisation. It is written to DIR/study.json, DIR/study.md and \
            DIR/study.html. For a cluster: one --stage prepare job, a --stage cells array with --shard \
            $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT, then --stage report (Recipes/study/README.md).
            """)

    enum Stage: String, ExpressibleByArgument, CaseIterable {
        case all, prepare, cells, report
    }

    @Option(help: "The study recipe (Recipes/study/quick.yaml or standard.yaml).")
    var recipe: String

    @Option(help: "Working folder (corpus, datasets, teachers, runs).")
    var out: String

    @Option(help: "Folder of ledger entries (default: <out>/cells; the committed study uses Recipes/study/cells).")
    var ledger: String?

    @Option(help: "all; prepare (data, features, teachers, caches); cells (student runs only); report.")
    var stage: Stage = .all

    @Option(
        help: ArgumentHelp(
            "Run only cells i, i+N, i+2N, … of the grid (I/N; with --stage cells; default: a Slurm array's "
                + "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT)."))
    var shard: String?

    @Option(help: "Run only these lengths now (comma-separated; default: all). The table covers every cell.")
    var lengths: String?

    @Option(
        help: "Run only cells of these targets now: none (λ = 0), oracle, teacher (comma-separated; default: all).")
    var targets: String?

    @Option(help: "Run only cells of these students now (comma-separated; default: all).")
    var students: String?

    @Option(help: "Run only cells of these schedules now: default, or a name from the recipe (comma-separated).")
    var schedules: String?

    @Option(
        help: ArgumentHelp(
            "The real-speech corpus (Speech Commands layout) that the recipe's real_speech test sets are made "
                + "from; required when the recipe has real_speech and cells are pending."))
    var realCorpus: String?

    @Flag(help: "Run again, and replace, ledger entries whose fingerprints no longer match.")
    var rerunStale = false

    @Flag(help: "Refuse the teacher-target cells of a length whose teacher is below the bar (default: run and mark).")
    var requireTeacherBar = false

    @Option(help: "Stop a student run after M minutes (it resumes on the next invocation).")
    var stopAfterMinutes: Double?

    @Option(name: .shortAndLong, help: "Worker threads.")
    var jobs: Int = 2

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be positive; got \(jobs).") }
        if let shard {
            _ = try Shard.parse(shard)
            guard stage == .cells else { throw ValidationError("--shard goes with --stage cells.") }
        }
    }

    func run() throws {
        let started = Date()
        let r = try StudyRecipe.load(URL(fileURLWithPath: recipe))
        let root = URL(fileURLWithPath: out)
        var runner = StudyRunner(
            recipe: r, root: root,
            ledger: StudyLedger(URL(fileURLWithPath: ledger ?? root.appendingPathComponent("cells").path)),
            jobs: jobs, rerunStale: rerunStale, requireTeacherBar: requireTeacherBar,
            stopAfterMinutes: stopAfterMinutes, shard: stage == .cells ? try Shard.resolve(shard) : .whole)
        func list(_ text: String?, _ allowed: [String], _ option: String) throws -> Set<String>? {
            guard let text else { return nil }
            let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for i in items where !allowed.contains(i) {
                throw ValidationError("\(option): '\(i)' is not one of \(allowed.joined(separator: ", "))")
            }
            return Set(items)
        }
        runner.onlyLengths = try list(lengths, r.lengths, "--lengths")
        runner.onlyTargets = try list(targets, ["none", "oracle", "teacher"], "--targets")
        runner.onlyStudents = try list(students, r.students.map(\.name), "--students")
        runner.onlySchedules = try list(schedules, ["default"] + r.schedules.keys.sorted(), "--schedules")
        runner.realCorpus = realCorpus.map { URL(fileURLWithPath: $0) }
        var stopped = 0
        switch stage {
        case .all: stopped = try runner.runAll()
        case .prepare: try runner.prepare()
        case .cells: stopped = try runner.runCells()
        case .report: break
        }
        let summary = try runner.report()
        say("")
        say(
            "Study '\(r.name)': test accuracy (%), mean ± sd over seeds; for λ > 0 the paired difference to λ = 0 "
                + "and its 95 % bootstrap interval; † teacher below the bar.")
        say("")
        for schedule in summary.schedules {
            let t = summary.markdownTable2(schedule: schedule)
            guard !t.isEmpty else { continue }
            say("\(schedule ?? "default") schedule:")
            say(t)
        }
        if !summary.missing.isEmpty {
            say("missing: \(summary.missing.count) (\(summary.missing.prefix(4).joined(separator: "; "))…)")
        }
        say(
            "table: \(root.appendingPathComponent("study.md").path), "
                + "page: \(root.appendingPathComponent("study.html").path)"
        )
        say(String(format: "study finished in %.1f min", Date().timeIntervalSince(started) / 60))
        if stopped > 0 {
            say("\(stopped) cell(s) stopped by --stop-after-minutes; run the same command again to resume (exit 75)")
            throw ExitCode(75)
        }
    }
}
