import Foundation
import TestSupport
import Testing

@Suite("tkd teacher cache --import (end to end)")
struct TeacherImportCLITests {
    @Test("per-example exports (here written by tkd teacher attentions) give the same rollouts as running the teacher")
    func importExports() throws {
        let dataset = try CLIDataset.small()
        let exports = TestFolder.path("exports"), work = TestFolder.path("import-dataset")
        try FileManager.default.createDirectory(at: exports, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: dataset, to: work)
        defer { for d in [exports, work] { try? FileManager.default.removeItem(at: d) } }
        var ids: [(String, String)] = []
        for split in ["training", "validation", "testing"] {
            let text = try String(contentsOf: work.appendingPathComponent("manifests/\(split).jsonl"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                ids.append((o["id"] as! String, o["audio"] as! String))
            }
        }
        for (id, audio) in ids {
            let r = try TKDBinary.run([
                "teacher", "attentions", "--teacher", TeacherCLITests.model, work.appendingPathComponent(audio).path,
                "--out", exports.appendingPathComponent("\(id).safetensors").path,
            ])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let native = try TKDBinary.run([
            "teacher", "cache", "--dataset", work.path, "--teacher", TeacherCLITests.model, "-q",
        ])
        let imported = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--import", exports.path, "-q"])
        #expect(native.status == 0 && imported.status == 0, "\(imported.stderr)")
        func summary(_ s: String) -> [Substring] {
            s.split(separator: "\n").filter { $0.hasPrefix("teacher accuracy") || $0.hasPrefix("rollout localisation") }
        }
        #expect(
            summary(native.stdout).count == 2 && summary(native.stdout) == summary(imported.stdout),
            "\(native.stdout)\n\(imported.stdout)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("teachers").path).count == 2
        )

        try FileManager.default.removeItem(at: exports.appendingPathComponent("\(ids[5].0).safetensors"))
        let missing = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--import", exports.path])
        #expect(missing.status != 0 && missing.stderr.contains("\(ids[5].0).safetensors"), "\(missing.stderr)")
        let both = try TKDBinary.run(["teacher", "cache", "--dataset", work.path])
        #expect(both.status != 0 && both.stderr.contains("--import"))
    }
}
