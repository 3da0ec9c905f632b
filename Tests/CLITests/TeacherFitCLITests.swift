import Foundation
import TestSupport
import Testing

/// The regression check of issue 14, point 0: before the spectral front-end start, the demo teacher recipe
/// fitted the demo's 288 clips (10 speakers) but stayed at chance, 10-13 % training accuracy, on a corpus
/// of 20 speakers (576 clips) for all 600 steps.
@Suite("tkd teacher train: the demo recipe learns beyond the demo corpus")
struct TeacherFitCLITests {
    @Test("Recipes/teacher/demo.yaml on a 20-speaker corpus (576 training clips): far above chance in 600 steps")
    func fitsTwentySpeakers() throws {
        let dir = try TestFolder.make("teacher-fit")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = dir.appendingPathComponent("corpus"), dataset = dir.appendingPathComponent("2s")
        let model = dir.appendingPathComponent("teacher")
        let c = try TKDBinary.run([
            "corpus", "demo", "--out", corpus.path, "--speakers", "20", "--jobs", "2", "-q",
        ])
        try #require(c.status == 0, "\(c.stderr)")
        let g = try TKDBinary.run([
            "generate", "--recipe", TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path, "--corpus",
            corpus.path, "--out", dataset.path, "--variant", "2s", "--jobs", "2", "-q",
        ])
        try #require(g.status == 0, "\(g.stderr)")
        let training = try String(
            contentsOf: dataset.appendingPathComponent("manifests/training.jsonl"), encoding: .utf8)
        #expect(training.split(separator: "\n").count == 576)
        let t = try TKDBinary.run([
            "teacher", "train", "--dataset", dataset.path, "--config",
            TKDBinary.repo.appendingPathComponent("Recipes/teacher/demo.yaml").path, "--out", model.path,
            "--jobs", "2", "-q",
        ])
        try #require(t.status == 0, "\(t.stderr)")
        let rows = try String(contentsOf: model.appendingPathComponent("training/history.jsonl"), encoding: .utf8)
            .split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
            }
        let train = rows.compactMap { $0["train_accuracy"] as? Double }
        let validation = rows.compactMap { $0["validation_accuracy"] as? Double }
        print("teacher fit, 20 speakers: training accuracy \(train), validation accuracy \(validation)")
        #expect(train.count == 6 && validation.count == 6)
        // Chance is 1/12 (8.3 %); the failure this guards against stayed at 10-13 %. Measured 2026-11-30 (the same
        // figures in debug and release builds): 50.3 % training accuracy over the last 100 steps, 40.3 % best
        // validation (still rising when the schedule ends). The bounds sit at three to four times chance.
        #expect((train.last ?? 0) >= 0.35, "training accuracy \(train)")
        #expect((validation.max() ?? 0) >= 0.25, "validation accuracy \(validation)")
    }
}
