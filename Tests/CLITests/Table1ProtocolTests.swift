import Foundation
import TestSupport
import Testing

/// Issue 16, point 4: a rehearsal of the Table 1 protocol (`Recipes/experiments/table1/table1.sbatch`, every stage,
/// tiny steps, no Slurm) with the real binary on the FSD50K stand-in: generate → features → a multi-label teacher
/// fine-tuned from a stand-in "pretrained" checkpoint → cache → the grid's cells → the Table 1-style report.
@Suite("Recipes/experiments/table1/table1.sbatch: the protocol on the stand-in")
struct Table1ProtocolTests {
    static let script = "Recipes/experiments/table1/table1.sbatch"

    @Test("every stage runs; the teacher is multi-label; a missing cell fails the report, the full grid passes")
    func rehearsal() throws {
        let data = try TestFolder.make("table1")
        defer { try? FileManager.default.removeItem(at: data) }
        let corpus = data.appendingPathComponent("corpus")
        let made = try TKDBinary.run([
            "corpus", "demo", "--kind", "fsd50k", "--out", corpus.path, "--clips", "40", "--seed", "4", "-q",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        let grid = [
            "CORPUS": corpus.path, "RECIPE": TKDBinary.repo.appendingPathComponent("Recipes/fsd50k-demo.yaml").path,
            "VARIANT": "crop-2s", "STUDENTS": "tc-resnet", "LAMBDAS": "0 0.25", "SEEDS": "1", "TARGET": "teacher",
            "STEPS": "4", "TEACHER_STEPS": "2",
            // The stable-layout fixture stands in for a pretrained wav2vec 2.0 checkpoint.
            "PRETRAINED": TKDBinary.repo.appendingPathComponent("Tests/TeacherTests/Fixtures/stable").path,
        ]
        func stage(_ name: String, task: Int? = nil) throws -> ProtocolCLITests.Run {
            try ProtocolCLITests.stage(name, data: data, task: task, script: Self.script, grid: grid)
        }
        for name in ["generate", "features", "teacher", "cache"] {
            let r = try stage(name)
            #expect(r.status == 0, "\(name): \(r.output)")
        }
        let dataset = data.appendingPathComponent("fsd50k")
        let info =
            try JSONSerialization.jsonObject(with: Data(contentsOf: dataset.appendingPathComponent("dataset.json")))
            as! [String: Any]
        #expect(info["task"] as? String == "multi_label")
        let hf =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: data.appendingPathComponent("teacher/config.json"))) as! [String: Any]
        #expect(
            hf["problem_type"] as? String == "multi_label_classification" && hf["tkd_pooling"] as? String == "first")

        let first = try stage("train", task: 0)
        #expect(first.status == 0, "\(first.output)")
        let outside = try stage("train", task: 2)
        #expect(outside.status == 2 && outside.output.contains("outside the 2-cell grid"), "\(outside.output)")
        let missing = try stage("report")
        #expect(missing.status == 3 && missing.output.contains("tc-resnet, λ = 0.25 (teacher): missing"))
        let second = try stage("train", task: 1)
        #expect(second.status == 0, "\(second.output)")
        let done = try stage("report")
        #expect(done.status == 0, "\(done.output)")
        let html = try String(contentsOf: data.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(
            html.contains("Test mAP (Table 1 style)") && html.contains("test mAP 0.") && !html.contains("class=missing")
        )
        // A clip dataset's page: label-count and event-onset histograms, validation mAP curves, the example's labels.
        #expect(html.contains("labels per example") && html.contains("event onset (s)") && !html.contains("SNR (dB)"))
        #expect(html.contains("validation mAP") && html.contains(", labels "))
        // The column names the teacher by the 16 digits that name its cache, not the whole fingerprint.
        #expect(html.range(of: "λ = 0.25 \\(teacher:[0-9a-f]{16}\\)</th>", options: .regularExpression) != nil)
    }
}
