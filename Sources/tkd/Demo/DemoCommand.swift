import ArgumentParser
import DatasetFormat
import Deploy
import Foundation
import Teacher
import Training

/// `tkd demo --out DIR`: the whole pipeline on the espeak-ng demo corpus.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "The whole pipeline on the demo corpus: data, features, teacher, the five students at λ = 0 and 0.25, "
            + "verify, report.",
        discussion: """
            Runs, in DIR: tkd corpus demo → corpus index → generate (Recipes/demo.yaml: 2-s and 8-s variants) \
            → features (the students' presets) → teacher train (Recipes/teacher/demo.yaml) → teacher cache → \
            tkd train for lstm-p, tc-resnet, crnn, att-rnn and mhatt-rnn (Recipes/train/demo/*.yaml) at λ = 0 \
            and at λ = 0.25 with the teacher's rollout as target, on the 2-s set → verify both variants → \
            report → export the distilled TC-ResNet to ONNX (float32 with its KD head, and int8) → detect with it \
            in three 8-s test recordings → generate the demo streams (Recipes/streams-demo.yaml) and score both \
            TC-ResNets on them as detectors (evaluate --stream, report --stream-metrics). Each step is the \
            tkd command of the same name, so a rerun skips or resumes what is done. Ends with the student × λ \
            test-accuracy table, the teacher's figures and the report's path.
            """)

    @Option(help: "Output folder.")
    var out: String = "demo"

    @Option(help: "The repository's Recipes folder (demo.yaml, teacher/demo.yaml, train/demo/).")
    var recipes: String = "Recipes"

    @Option(help: "λ of the distilled runs.")
    var lambda: Double = 0.25

    @Option(name: .shortAndLong, help: "Worker threads.")
    var jobs: Int = 2

    @Option(
        help: ArgumentHelp(
            "Which task: speech-commands (the paper's Table 2 on the espeak-ng corpus) or fsd50k (Table 1 on the "
                + "FSD50K stand-in: multi-label, mAP)."))
    var kind: DemoKind = .speechCommands

    enum DemoKind: String, ExpressibleByArgument, CaseIterable {
        case speechCommands = "speech-commands"
        case fsd50k
    }

    /// The five students, in the table's order, and their feature presets (each once).
    static let students = Student.allCases.map(\.rawValue)
    static let presets = Student.allCases.map(\.preset).reduce(into: [String]()) {
        if !$0.contains($1) { $0.append($1) }
    }

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be positive; got \(jobs).") }
        guard lambda > 0 else { throw ValidationError("--lambda must be positive; got \(lambda).") }
        let own =
            kind == .fsd50k
            ? ["fsd50k-demo.yaml", "teacher/fsd50k-demo.yaml"]
            : ["demo.yaml", "teacher/demo.yaml", "streams-demo.yaml"]
        for file in own + Self.students.map({ "train/demo/\($0).yaml" }) {
            let path = URL(fileURLWithPath: recipes).appendingPathComponent(file).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("\(path) is missing; run from the repository root or pass --recipes DIR.")
            }
        }
    }

    /// One pipeline step: the tkd command of that name, timed.
    func step(_ args: [String]) throws {
        let t0 = Date()
        try ChildTKD.run(args, resuming: "tkd demo")
        say(String(format: "  (%.0f s)", Date().timeIntervalSince(t0)))
    }

    func run() throws {
        if kind == .fsd50k { return try runFSD50K() }
        let started = Date()
        let root = URL(fileURLWithPath: out), r = URL(fileURLWithPath: recipes)
        let j = String(jobs)
        let corpus = root.appendingPathComponent("corpus").path, noisy = root.appendingPathComponent("noisy")
        let two = noisy.appendingPathComponent("2s").path, eight = noisy.appendingPathComponent("8s").path
        let teacher = root.appendingPathComponent("teacher").path, runs = root.appendingPathComponent("runs").path
        try step(["corpus", "demo", "--out", corpus, "--jobs", j, "-q"])
        try step(["corpus", "index", corpus, "--strict", "--jobs", j, "-q"])
        try step([
            "generate", "--recipe", r.appendingPathComponent("demo.yaml").path, "--corpus", corpus, "--out", noisy.path,
            "--jobs", j, "-q",
        ])
        for preset in Self.presets { try step(["features", "--dataset", two, "--preset", preset, "--jobs", j, "-q"]) }
        try step([
            "teacher", "train", "--dataset", two, "--config", r.appendingPathComponent("teacher/demo.yaml").path,
            "--out", teacher,
            "--jobs", j, "-q",
        ])
        try step(["teacher", "cache", "--dataset", two, "--teacher", teacher, "--jobs", j, "-q"])
        var names: [(student: String, plain: String, distilled: String)] = []
        for student in Self.students {
            let config = r.appendingPathComponent("train/demo/\(student).yaml").path
            let plain = "demo-\(student)", distilled = "demo-\(student)-lambda\(TrainCommand.short(lambda))"
            try step([
                "train", "--dataset", two, "--config", config, "--runs", runs, "--name", plain, "--jobs", j, "-q",
            ])
            try step([
                "train", "--dataset", two, "--config", config, "--runs", runs, "--name", distilled, "--kd-lambda",
                String(lambda),
                "--kd-target", "teacher", "--jobs", j, "-q",
            ])
            names.append((student, plain, distilled))
        }
        for v in [two, eight] { try step(["verify", "--dataset", v, "--corpus", corpus, "--jobs", j, "-q"]) }
        let report = root.appendingPathComponent("report.html").path
        try step(["report", "--dataset", two, "--runs", runs, "--out", report])

        // Deploy: the distilled TC-ResNet as ONNX (float32 with its KD head, and int8), then as a detector over
        // the first three 8-s test recordings with a keyword.
        let deploy = root.appendingPathComponent("deploy")
        let best = RunLayout(
            runs: URL(fileURLWithPath: runs), name: "demo-tc-resnet-lambda\(TrainCommand.short(lambda))"
        )
        .checkpoint(RunLayout.best).path
        let float = deploy.appendingPathComponent("tc-resnet"), int8 = deploy.appendingPathComponent("tc-resnet-int8")
        try step(["export", "--checkpoint", best, "--out", float.path, "--with-localisation"])
        try step([
            "export", "--checkpoint", best, "--out", int8.path, "--precision", "int8", "--calibration", two,
        ])
        let recordings = try DatasetInfo.loadManifests(URL(fileURLWithPath: eight))
            .filter { $0.split == .testing && $0.keyword != nil && !$0.label.hasPrefix("_") }
            .sorted { $0.id < $1.id }.prefix(3)
        try step(
            ["detect", "--model", float.path, "--json", "-q"]
                + (try recordings.map { try DatasetLayout(URL(fileURLWithPath: eight)).audio($0).path }))

        // Deploy, judged as a device is: both TC-ResNets as detectors over the demo's long test streams.
        let streams = deploy.appendingPathComponent("streams").path
        try step([
            "generate", "--recipe", r.appendingPathComponent("streams-demo.yaml").path, "--corpus", corpus, "--out",
            streams, "--jobs", j, "-q",
        ])
        try step(["verify", "--dataset", streams, "--corpus", corpus, "--jobs", j, "-q"])
        var streamRuns: [(String, URL)] = []
        for run in ["demo-tc-resnet", "demo-tc-resnet-lambda\(TrainCommand.short(lambda))"] {
            let metrics = deploy.appendingPathComponent("\(run).stream-metrics.json")
            try step([
                "evaluate", "--stream", "--checkpoint",
                RunLayout(runs: URL(fileURLWithPath: runs), name: run).checkpoint(RunLayout.best).path, "--dataset",
                streams, "--out", metrics.path, "--jobs", j, "-q",
            ])
            streamRuns.append((run, metrics))
        }
        let streamReport = deploy.appendingPathComponent("streams-report.html").path
        try step(
            ["report", "--dataset", streams, "--out", streamReport]
                + streamRuns.flatMap { ["--stream-metrics", $0.1.path] })

        // The table.
        func accuracy(_ run: String) throws -> (Double, Double) {
            let url = RunLayout(runs: URL(fileURLWithPath: runs), name: run).metrics
            let m = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: url))
            return (m.validation.accuracy, m.test.accuracy)
        }
        say("")
        say(
            "Test accuracy on the demo 2-s set (validation accuracy in brackets), \(Self.students.count) "
                + "students × λ:")
        say("")
        let second = "λ = \(TrainCommand.short(lambda)) (teacher)".padding(toLength: 20, withPad: " ", startingAt: 0)
        say("| student   | λ = 0                | \(second) |")
        say("|-----------|----------------------|----------------------|")
        for n in names {
            let (v0, t0) = try accuracy(n.plain), (v1, t1) = try accuracy(n.distilled)
            say(
                String(
                    format: "| %@ | %5.1f %% (val %5.1f)  | %5.1f %% (val %5.1f)  |",
                    n.student.padding(toLength: 9, withPad: " ", startingAt: 0),
                    100 * t0, 100 * v0, 100 * t1, 100 * v1))
        }
        for folder in DatasetLayout(URL(fileURLWithPath: two)).teacherCaches {
            guard let info = try? TeacherCacheInfo.load(folder), let s = info.summary else { continue }
            say("")
            say(
                String(
                    format:
                        "teacher %@ (%@): validation %.1f %%, test %.1f %%; rollout mass inside the speech span "
                        + "%.1f %% "
                        + "(uniform %.1f %%), peak inside it %.1f %%",
                    String(folder.lastPathComponent.prefix(16)), info.teacher, 100 * (s.validationAccuracy ?? 0),
                    100 * (s.testAccuracy ?? 0), 100 * s.massInSpeech, 100 * s.spanShare, 100 * s.peakInSpeech))
        }
        say("")
        for r in recordings {
            let k = r.keyword!
            say(
                String(
                    format: "%@: '%@' spoken at %.2f-%.2f s", "\(r.id).wav", r.label,
                    Double(k.speechOnsetSample) / Double(r.sampleRate),
                    Double(k.speechOffsetSample) / Double(r.sampleRate)))
        }
        for folder in [float, int8] {
            let m = try ExportedModel(folder)
            let test = try m.evaluate(dataset: URL(fileURLWithPath: two), split: .testing).metrics
            say(
                String(
                    format: "deploy: %@ (%@, %.2f MB): test accuracy %.1f %%", folder.path, m.manifest.model.precision,
                    Double(m.manifest.size.modelBytes) / 1_048_576, 100 * test.accuracy))
        }
        for (run, url) in streamRuns {
            let m = try StreamMetrics.load(url)
            func pct(_ x: Double?) -> String { x.map { String(format: "%.0f %%", 100 * $0) } ?? "–" }
            say(
                "streams: \(run): FRR at 1 FA/h \(pct(m.pooled.frrAt1FAPerHour)), at threshold "
                    + "\(m.hitsAtThreshold.threshold) \(m.hitsAtThreshold.hits) of \(m.pooled.targets) targets hit, "
                    + String(
                        format: "%.0f false accepts per hour",
                        m.pooled.faPerHour[
                            m.thresholds.firstIndex { $0 >= m.hitsAtThreshold.threshold } ?? 0])
                    + String(format: " (%.2f h of streams; a demo, not a measurement)", m.hours))
        }
        say("")
        say("report: \(report)")
        say("detectors: \(streamReport)")
        say(String(format: "demo finished in %.1f min", Date().timeIntervalSince(started) / 60))
    }
}
