import DatasetFormat
import Foundation
import Teacher
import Training

extension DemoCommand {
    /// The students' steps in the FSD50K demo (the demo configs' schedule spread over them): 200 of 32 keep the
    /// ten runs within the demo's time budget.
    static let fsdSteps = 200

    /// `tkd demo --kind fsd50k`: the paper's Table 1 protocol in miniature on the FSD50K stand-in — corpus → index
    /// → generate (`Recipes/fsd50k-demo.yaml`, variant crop-2s: 16 kHz, 2-s crops) → features → the bundled
    /// teacher (`Recipes/teacher/fsd50k-demo.yaml`, sigmoid head) → cache → the five students at λ = 0 and λ with
    /// the teacher's rollout (200 steps each) → verify → report (Table 1 layout); ends with the student × λ
    /// test-mAP table.
    func runFSD50K() throws {
        let started = Date()
        let root = URL(fileURLWithPath: out), r = URL(fileURLWithPath: recipes)
        let j = String(jobs)
        let corpus = root.appendingPathComponent("corpus").path
        let data = root.appendingPathComponent("crop-2s").path
        let teacher = root.appendingPathComponent("teacher").path, runs = root.appendingPathComponent("runs").path
        try step(["corpus", "demo", "--kind", "fsd50k", "--out", corpus, "--jobs", j, "-q"])
        try step(["corpus", "index", corpus, "--strict", "--jobs", j, "-q"])
        try step([
            "generate", "--recipe", r.appendingPathComponent("fsd50k-demo.yaml").path, "--corpus", corpus,
            "--variant", "crop-2s", "--out", data, "--jobs", j, "-q",
        ])
        for preset in Self.presets { try step(["features", "--dataset", data, "--preset", preset, "--jobs", j, "-q"]) }
        try step([
            "teacher", "train", "--dataset", data, "--config",
            r.appendingPathComponent("teacher/fsd50k-demo.yaml").path, "--out", teacher, "--jobs", j, "-q",
        ])
        try step(["teacher", "cache", "--dataset", data, "--teacher", teacher, "--jobs", j, "-q"])
        var names: [(student: String, plain: String, distilled: String)] = []
        for student in Self.students {
            let config = r.appendingPathComponent("train/demo/\(student).yaml").path
            let plain = "fsd-\(student)", distilled = "fsd-\(student)-lambda\(TrainCommand.short(lambda))"
            try step([
                "train", "--dataset", data, "--config", config, "--runs", runs, "--name", plain, "--steps",
                String(Self.fsdSteps), "--jobs", j, "-q",
            ])
            try step([
                "train", "--dataset", data, "--config", config, "--runs", runs, "--name", distilled, "--kd-lambda",
                String(lambda), "--kd-target", "teacher", "--steps", String(Self.fsdSteps), "--jobs", j, "-q",
            ])
            names.append((student, plain, distilled))
        }
        try step(["verify", "--dataset", data, "--corpus", corpus, "--jobs", j, "-q"])
        let report = root.appendingPathComponent("report.html").path
        try step(["report", "--dataset", data, "--runs", runs, "--out", report])

        func mAP(_ run: String) throws -> (Double, Double) {
            let url = RunLayout(runs: URL(fileURLWithPath: runs), name: run).metrics
            let m = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: url))
            return (m.validation.meanAveragePrecision, m.test.meanAveragePrecision)
        }
        let info = try DatasetInfo.load(URL(fileURLWithPath: data))
        say("")
        say(
            "Test mAP on the FSD50K stand-in (\(info.totals["testing"] ?? 0) test clips, \(info.labels.count) classes; "
                + "validation mAP in brackets), Table 1 style:")
        say("")
        func cell(_ text: String) -> String { text.padding(toLength: 22, withPad: " ", startingAt: 0) }
        func pair(_ test: Double?, _ validation: Double?) -> String {
            cell(String(format: "%.4f (val %.4f)", test ?? .nan, validation ?? .nan))
        }
        say("| model     | \(cell("λ = 0")) | \(cell("λ = \(TrainCommand.short(lambda)) (teacher)")) |")
        say("|-----------|------------------------|------------------------|")
        for folder in DatasetLayout(URL(fileURLWithPath: data)).teacherCaches {
            guard let c = try? TeacherCacheInfo.load(folder), let s = c.summary else { continue }
            say("| teacher   | \(pair(s.testMAP, s.validationMAP)) | \(cell("")) |")
        }
        for n in names {
            let (v0, t0) = try mAP(n.plain), (v1, t1) = try mAP(n.distilled)
            say(
                "| \(n.student.padding(toLength: 9, withPad: " ", startingAt: 0)) | \(pair(t0, v0)) | "
                    + "\(pair(t1, v1)) |")
        }
        for folder in DatasetLayout(URL(fileURLWithPath: data)).teacherCaches {
            guard let c = try? TeacherCacheInfo.load(folder), let s = c.summary else { continue }
            say("")
            say(
                String(
                    format: "teacher %@ (%@): rollout mass inside the events %.1f %% (uniform %.1f %%), peak inside "
                        + "them %.1f %%",
                    String(folder.lastPathComponent.prefix(16)), c.teacher, 100 * s.massInSpeech, 100 * s.spanShare,
                    100 * s.peakInSpeech))
        }
        say("")
        say("report: \(report)")
        say(String(format: "demo (fsd50k) finished in %.1f min", Date().timeIntervalSince(started) / 60))
    }
}
