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

    /// `cache.json`'s `rollout_row` of the cache a `teacher cache` run wrote (the folder it printed).
    static func row(_ r: TKDBinary.Output) throws -> String? {
        let line = try #require(r.stdout.split(separator: "\n").first { $0.contains("fingerprint") })
        let folder = String(line.prefix { $0 != ":" })
        let data = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent("cache.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["rollout_row"] as? String
    }

    @Test("the rollout row: auto follows the head, imports say theirs, cache.json records it")
    func rolloutRow() throws {
        let dataset = try CLIDataset.small()
        let dir = try TestFolder.make("rollout-row")
        defer { try? FileManager.default.removeItem(at: dir) }
        let work = dir.appendingPathComponent("dataset"), first = dir.appendingPathComponent("first-frame")
        try FileManager.default.copyItem(at: dataset, to: work)
        // The fixture teacher with a first-frame head (transformers ignores tkd_pooling; tkd reads it).
        try FileManager.default.copyItem(at: URL(fileURLWithPath: TeacherCLITests.model), to: first)
        let configURL = first.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        #expect(config["tkd_pooling"] == nil || config["tkd_pooling"] as? String == "mean")
        config["tkd_pooling"] = "first"
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        for (teacher, extra, want) in [
            (TeacherCLITests.model, [String](), "mean"), (first.path, [], "first"),
            (first.path, ["--query", "mean"], "mean"),
        ] {
            let r = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--teacher", teacher] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try Self.row(r) == want, "\(teacher) \(extra)")
            #expect(r.stdout.contains("rollout row: \(want)"), "\(r.stdout)")
        }

        // Ready rollouts (uniform) for every example: the row must be said in import.json, and be the one asked for.
        let exports = dir.appendingPathComponent("exports")
        try FileManager.default.createDirectory(at: exports, withIntermediateDirectories: true)
        for split in ["training", "validation", "testing"] {
            let text = try String(contentsOf: work.appendingPathComponent("manifests/\(split).jsonl"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                let frames = (o["num_samples"] as! Int - 400) / 320 + 1
                var data = Data()
                for _ in 0..<frames {
                    withUnsafeBytes(of: (1 / Float(frames)).bitPattern.littleEndian) { data.append(contentsOf: $0) }
                }
                var header = Data(
                    #"{"rollout":{"dtype":"F32","shape":[\#(frames)],"data_offsets":[0,\#(data.count)]}}"#.utf8)
                while header.count % 8 != 0 { header.append(0x20) }
                var file = Data()
                withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
                try (file + header + data).write(
                    to: exports.appendingPathComponent("\(o["id"] as! String).safetensors"))
            }
        }
        let unsaid = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--import", exports.path])
        #expect(
            unsaid.status != 0 && unsaid.stderr.contains("import.json") && unsaid.stderr.contains("'rollout_row'"),
            "\(unsaid.stderr)")
        try Data(#"{"rollout_row": "first"}"#.utf8).write(to: exports.appendingPathComponent("import.json"))
        let said = try TKDBinary.run(["teacher", "cache", "--dataset", work.path, "--import", exports.path])
        #expect(said.status == 0, "\(said.stderr)")
        #expect(try Self.row(said) == "first")
        let other = try TKDBinary.run([
            "teacher", "cache", "--dataset", work.path, "--import", exports.path, "--query", "mean",
        ])
        #expect(
            other.status != 0 && other.stderr.contains("'rollout_row' is 'first'") && other.stderr.contains("mean row"),
            "\(other.stderr)")
    }
}
