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
            run trained with λ > 0 (the KD head of a λ = 0 run is never trained, so it is left out).
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

    func run() throws {
        let datasetURL = URL(fileURLWithPath: dataset)
        var folders = runFolders.map { URL(fileURLWithPath: $0) }
        if let runs {
            let root = URL(fileURLWithPath: runs)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
            folders += names.map { root.appendingPathComponent($0) }.filter {
                FileManager.default.fileExists(atPath: RunLayout($0).metrics.path)
            }
        }
        var report = DatasetReport(dataset: datasetURL)
        let records = try DatasetInfo.loadManifests(datasetURL)
        guard let chosen = example.map({ id in records.first { $0.id == id } }) ?? DatasetReport.defaultExample(records)
        else {
            throw ValidationError("--example \(example ?? ""): no such example with a keyword in \(dataset)")
        }
        report.exampleID = chosen.id
        var data: [String: TrainingData] = [:]
        for folder in folders {
            let run = RunLayout(folder)
            let metricsURL = run.metrics
            guard let m = try RegularFile.contents(metricsURL) else {
                throw ValidationError(
                    "\(metricsURL.path): no metrics.json (is \(folder.path) a finished tkd train run?)")
            }
            let metrics = try JSONDecoder().decode(RunMetrics.self, from: m)
            var history: [(step: Int, validation: Double, loss: Double)] = []
            if let h = try RegularFile.contents(run.history) {
                history = try CanonicalJSON.decodeLines(HistoryEntry.self, from: h, path: run.history.path)
                    .map { ($0.step, $0.validationAccuracy, $0.trainLoss) }
            }
            var attention: [Float]?
            if metrics.kdLambda > 0 {
                let (info, file) = try Checkpoint.open(run.checkpoint(RunLayout.best))
                let model = try Checkpoint.model(from: info, file: file, includeTrainingOnly: true)
                let d =
                    try data[info.featurePreset]
                    ?? TrainingData(
                        dataset: datasetURL, preset: info.featurePreset, featureCount: info.student.featureCount,
                        student: info.student.rawValue, minimumFrames: info.student.minimumFrames)
                data[info.featurePreset] = d
                attention = try model.distilledAttention(try d.batch([chosen.id]), temperature: info.kdTemperature)
            }
            report.runs.append(
                ReportRun(
                    name: folder.lastPathComponent, student: metrics.student.rawValue,
                    kdLambda: Double(metrics.kdLambda),
                    kdTarget: metrics.kdTarget.description, validationAccuracy: metrics.validation.accuracy,
                    testAccuracy: metrics.test.accuracy, history: history, attention: attention))
        }
        let html = try report.html()
        try AtomicFile.write(Data(html.utf8), to: URL(fileURLWithPath: out))
        say("report: \(out) (\(report.runs.count) run(s), example \(chosen.id), \(html.utf8.count / 1024) KB)")
    }
}
