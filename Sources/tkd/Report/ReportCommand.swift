import ArgumentParser
import DatasetFormat
import Foundation
import TKDCore
import Training
import TrainingLoop
import Verify

/// `tkd report --dataset D [--run R ...] [--runs DIR] [--example ID] --out report.html`
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract:
            "One self-contained HTML page: Fig. 2-style attention plot, distributions, classes, training curves, a "
            + "Table 2-style table.",
        discussion: """
            Runs come from --run (run folders of tkd train) and from every run folder under --runs. The Fig. 2-style \
            figure shows one example (--example, default the first test example with a keyword): its log-mel with the \
            recorded speech span shaded, the rollout of the dataset's first teacher cache, and the attention of every \
            run trained with λ > 0 (the KD head of a λ = 0 run is never trained, so it is left out). \
            The Table 2-style table groups runs by student, λ and target (a teacher target by its cache's \
            fingerprint; never averaged across targets), gives mean ± sd and n per cell and a teacher row per \
            cache. With --expect-students, --expect-lambdas and --expect-seeds (a protocol's grid), every \
            expected cell is listed and cells with missing seeds are marked in red; run folders under --runs \
            without metrics.json count as unfinished.
            """)

    @Option(help: "The dataset folder.")
    var dataset: String

    @Option(name: .customLong("run"), help: "A run folder (tkd train); repeatable.")
    var runFolders: [String] = []

    @Option(help: "A folder of run folders (each with metrics.json).")
    var runs: String?

    @Option(help: "The example of the Fig. 2-style figure.")
    var example: String?

    @Option(help: "Output HTML file.")
    var out: String = "report.html"

    @Option(help: "The protocol's students, comma-separated (with --expect-lambdas and --expect-seeds).")
    var expectStudents: String?

    @Option(help: "The protocol's λ values, comma-separated.")
    var expectLambdas: String?

    @Option(help: "The protocol's seeds, comma-separated.")
    var expectSeeds: String?

    @Option(help: "The target kind of the protocol's λ > 0 cells: teacher or oracle.")
    var expectTarget: String = "teacher"

    @Flag(help: "Exit 3 when an expected cell is missing or incomplete (the report is written first).")
    var strict = false

    @Option(
        name: .customLong("stream-metrics"),
        help: ArgumentHelp(
            "A stream-metrics.json of tkd evaluate --stream on this (stream) dataset; repeatable.",
            discussion:
                "With a stream dataset the page shows the detector runs instead: their DET curves, a table of FRR at "
                + "0.5 and 1 FA/h, area and latency, the latency histograms and a timeline of one stream."))
    var streamMetrics: [String] = []

    /// The expected grid of the --expect-* options (nil when none is given).
    func grid() throws -> ExpectedGrid? {
        let given = [expectStudents, expectLambdas, expectSeeds]
        guard given.contains(where: { $0 != nil }) else { return nil }
        guard let st = expectStudents, let la = expectLambdas, let se = expectSeeds else {
            throw ValidationError("--expect-students, --expect-lambdas and --expect-seeds go together")
        }
        func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let students = list(st)
        for name in students where Student(rawValue: name) == nil {
            throw ValidationError("--expect-students: '\(name)' is not a student; expected \(Student.expectedChoices)")
        }
        let lambdas = try list(la).map { t -> Double in
            guard let v = Double(t), v >= 0, v.isFinite else {
                throw ValidationError("--expect-lambdas: '\(t)' is not a λ; expected numbers ≥ 0")
            }
            return v
        }
        let seeds = try list(se).map { t -> UInt64 in
            guard let v = UInt64(t) else {
                throw ValidationError("--expect-seeds: '\(t)' is not a seed; expected integers ≥ 0")
            }
            return v
        }
        guard ["teacher", "oracle"].contains(expectTarget) else {
            throw ValidationError("--expect-target: '\(expectTarget)'; expected teacher or oracle")
        }
        guard !students.isEmpty, !lambdas.isEmpty, !seeds.isEmpty else {
            throw ValidationError("--expect-students, --expect-lambdas and --expect-seeds each need at least one value")
        }
        return ExpectedGrid(students: students, lambdas: lambdas, seeds: seeds, target: expectTarget)
    }

    func run() throws {
        let datasetURL = URL(fileURLWithPath: dataset)
        if DatasetInfo.isStreamDataset(datasetURL) || !streamMetrics.isEmpty {
            try runStreams(datasetURL)
            return
        }
        var folders = runFolders.map { URL(fileURLWithPath: $0) }
        var report = DatasetReport(dataset: datasetURL)
        report.expected = try grid()
        if let runs {
            let root = URL(fileURLWithPath: runs)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
            for folder in names.map({ root.appendingPathComponent($0) }) {
                let layout = RunLayout(folder)
                if FileManager.default.fileExists(atPath: layout.metrics.path) {
                    folders.append(folder)
                } else if let data = try? RegularFile.contents(layout.config),
                    let c = try? JSONDecoder().decode(TrainConfig.self, from: data)
                {
                    // A run that has started (its config.json is written first) but not finished.
                    report.unfinished.append(
                        UnfinishedRun(
                            name: folder.lastPathComponent, student: c.student.rawValue, kdLambda: Double(c.kd.lambda),
                            kdTarget: c.kd.target.description, seed: c.seed))
                }
            }
        }
        let records = try DatasetInfo.loadManifests(datasetURL)
        guard let chosen = example.map({ id in records.first { $0.id == id } }) ?? DatasetReport.defaultExample(records)
        else {
            throw ValidationError("--example \(example ?? ""): no such example with a keyword in \(dataset)")
        }
        report.exampleID = chosen.id
        report.runs = try Self.loadRuns(folders, dataset: datasetURL, example: chosen.id)
        let html = try report.html()
        try AtomicFile.write(Data(html.utf8), to: URL(fileURLWithPath: out))
        say("report: \(out) (\(report.runs.count) run(s), example \(chosen.id), \(html.utf8.count / 1024) KB)")
        if let g = report.gridStatus() {
            say(
                "expected grid: \(g.cells) cells, \(g.complete) complete, \(g.incomplete) incomplete, "
                    + "\(g.missing) missing (\(g.runsFinished) of \(g.runsExpected) runs finished)")
            for p in g.problems { say("  \(p)") }
            if strict && !g.problems.isEmpty { throw ExitCode(3) }
        }
    }

    /// The report's view of finished run folders: metrics, seed, history and — for λ > 0 — the attention the
    /// run's KD head (or own α) puts on `example`.
    static func loadRuns(_ folders: [URL], dataset: URL, example: String) throws -> [ReportRun] {
        var data: [String: TrainingData] = [:]
        var out: [ReportRun] = []
        for folder in folders {
            let run = RunLayout(folder)
            let metricsURL = run.metrics
            guard let m = try RegularFile.contents(metricsURL) else {
                throw ValidationError(
                    "\(metricsURL.path): no metrics.json (is \(folder.path) a finished tkd train run?)")
            }
            let metrics = try JSONDecoder().decode(RunMetrics.self, from: m)
            let seed = (try? RegularFile.contents(run.config)).flatMap { $0 }.flatMap {
                try? JSONDecoder().decode(TrainConfig.self, from: $0).seed
            }
            var history: [(step: Int, validation: Double, loss: Double)] = []
            if let h = try RegularFile.contents(run.history) {
                history = try CanonicalJSON.decodeLines(HistoryEntry.self, from: h, path: run.history.path)
                    .map { ($0.step, $0.selectionScore, $0.trainLoss) }
            }
            var attention: [Float]?
            if metrics.kdLambda > 0 {
                let (info, file) = try Checkpoint.open(run.checkpoint(RunLayout.best))
                let model = try Checkpoint.model(from: info, file: file, includeTrainingOnly: true)
                let d =
                    try data[info.featurePreset]
                    ?? TrainingData(
                        dataset: dataset, preset: info.featurePreset, featureCount: info.student.featureCount,
                        student: info.student.rawValue, minimumFrames: info.student.minimumFrames)
                data[info.featurePreset] = d
                attention = try model.distilledAttention(
                    try d.batch([example]), temperature: info.kdTemperature, own: info.config.kd.head == .own)
            }
            out.append(
                ReportRun(
                    name: folder.lastPathComponent, student: metrics.student.rawValue,
                    kdLambda: Double(metrics.kdLambda),
                    kdTarget: metrics.kdTarget.description, validationAccuracy: metrics.validation.accuracy,
                    testAccuracy: metrics.test.accuracy, history: history, attention: attention, seed: seed,
                    validationMAP: metrics.validation.multiLabel?.macroAveragePrecision,
                    testMAP: metrics.test.multiLabel?.macroAveragePrecision))
        }
        return out
    }

    /// A stream dataset: the detector runs' page.
    func runStreams(_ datasetURL: URL) throws {
        guard DatasetInfo.isStreamDataset(datasetURL) else {
            throw ValidationError("--stream-metrics needs a stream dataset (kind: stream); \(dataset) is not one.")
        }
        guard !streamMetrics.isEmpty else {
            throw ValidationError(
                "\(dataset) is a stream dataset: give --stream-metrics F (tkd evaluate --stream) for each run to show.")
        }
        guard runFolders.isEmpty, runs == nil, example == nil else {
            throw ValidationError("--run, --runs and --example do not apply to a stream dataset.")
        }
        let loaded = try streamMetrics.map { path -> (name: String, metrics: StreamMetrics) in
            let url = URL(fileURLWithPath: path)
            let m = try StreamMetrics.load(url)
            return (url.deletingPathExtension().lastPathComponent, m)
        }
        let html = try StreamReport(dataset: datasetURL, runs: loaded).html()
        try AtomicFile.write(Data(html.utf8), to: URL(fileURLWithPath: out))
        say("report: \(out) (\(loaded.count) detector run(s))")
    }
}
