import Foundation
import TestSupport
import Testing

/// Issue 14, point 5: a rehearsal of the Table 2 protocol (`Recipes/experiments/table2.sbatch`, its train and
/// report stages with tiny steps, no Slurm) with the real binary on the demo corpus: a cell stopped before its
/// end is reported as incomplete, a cell never run as missing, and both complete when resubmitted.
@Suite("Recipes/experiments/table2.sbatch: cells cannot vanish")
struct ProtocolCLITests {
    struct Run {
        let status: Int32
        let output: String
    }

    /// The grid overrides of the Table 2 rehearsal.
    static let table2Grid = [
        "LENGTHS": "2s", "STUDENTS": "tc-resnet", "LAMBDAS": "0 0.25", "SEEDS": "1 2", "TARGET": "oracle", "STEPS": "4",
    ]

    /// `bash SCRIPT STAGE` (default table2.sbatch) with the grid overrides and `extra` in its environment; output
    /// in a file.
    static func stage(
        _ stage: String, data: URL, task: Int? = nil, extra: [String: String] = [:],
        script: String = "Recipes/experiments/table2.sbatch", grid: [String: String] = table2Grid
    ) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [TKDBinary.repo.appendingPathComponent(script).path, stage]
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("SLURM_") { env[key] = nil }
        env.merge(
            [
                "DATA": data.path, "TKD": TKDBinary.url.path,
                "RECIPES": TKDBinary.repo.appendingPathComponent("Recipes").path, "SLURM_CPUS_PER_TASK": "2",
            ]
        ) { $1 }
        env.merge(grid) { $1 }
        if let task { env["SLURM_ARRAY_TASK_ID"] = String(task) }
        env.merge(extra) { $1 }
        p.environment = env
        let log = data.appendingPathComponent("\(stage)-\(task.map(String.init) ?? "all")-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try handle.close()
        return Run(status: p.terminationStatus, output: try String(contentsOf: log, encoding: .utf8))
    }

    /// A protocol work folder (`DATA`) whose `noisy/2s` is a copy of the small demo dataset.
    static func workFolder(_ name: String) throws -> URL {
        let data = try TestFolder.make(name)
        try FileManager.default.createDirectory(
            at: data.appendingPathComponent("noisy"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: try CLIDataset.small(), to: data.appendingPathComponent("noisy/2s"))
        return data
    }

    @Test("a stopped cell and a cell never run are marked in the report; resubmitted, every cell completes")
    func cellsCannotVanish() throws {
        let data = try Self.workFolder("protocol")
        defer { try? FileManager.default.removeItem(at: data) }
        // The grid: tc-resnet × λ {0, 0.25} × seeds {1, 2} = tasks 0…3 (seed fastest). Task 3 (λ 0.25, seed 2)
        // hits its time budget (STOP_AFTER stands in for --stop-after-minutes); task 2 is never run.
        for task in [0, 1] {
            let r = try Self.stage("train", data: data, task: task)
            #expect(r.status == 0, "\(r.output)")
        }
        let stopped = try Self.stage("train", data: data, task: 3, extra: ["STOP_AFTER": "2"])
        #expect(stopped.status == 75 && stopped.output.contains("not finished"), "\(stopped.output)")
        let outside = try Self.stage("train", data: data, task: 4)
        #expect(outside.status == 2 && outside.output.contains("outside the 4-cell grid"), "\(outside.output)")

        let first = try Self.stage("report", data: data)
        #expect(first.status == 3, "\(first.output)")
        #expect(first.output.contains("tc-resnet, λ = 0.25 (oracle): missing"), "\(first.output)")
        #expect(!first.output.contains("λ = 0 (oracle)") && !first.output.contains("λ = 0: "), "\(first.output)")
        let html = try String(contentsOf: data.appendingPathComponent("report-2s.html"), encoding: .utf8)
        #expect(html.contains("<td class=missing>missing, 1 unfinished</td>"), "the stopped cell is not marked")
        #expect(html.contains("2 of 4 runs finished"))

        // Resubmitted (as Slurm's requeue would): the stopped cell resumes, the missing one runs.
        for task in [3, 2] {
            let r = try Self.stage("train", data: data, task: task)
            #expect(r.status == 0, "\(r.output)")
        }
        let second = try Self.stage("report", data: data)
        #expect(second.status == 0, "\(second.output)")
        #expect(
            second.output.contains("2 complete, 0 incomplete, 0 missing (4 of 4 runs finished)"), "\(second.output)")
        let done = try String(contentsOf: data.appendingPathComponent("report-2s.html"), encoding: .utf8)
        #expect(!done.contains("class=missing") && done.contains("(n = 2 of 2)"))
    }

    @Test(
        "the teacher stage fine-tunes a first-frame teacher per length from PRETRAINED; the cache takes its first row"
    )
    func perLengthTeacher() throws {
        let data = try Self.workFolder("protocol-teacher")
        defer { try? FileManager.default.removeItem(at: data) }
        // The stable-layout fixture stands in for a pretrained XLSR checkpoint.
        let pretrained = TKDBinary.repo.appendingPathComponent("Tests/TeacherTests/Fixtures/stable").path
        let env = ["PRETRAINED": pretrained, "TEACHER_STEPS": "2"]
        let teacher = try Self.stage("teacher", data: data, task: 0, extra: env)
        #expect(teacher.status == 0, "\(teacher.output)")
        let config = data.appendingPathComponent("teachers/2s/config.json")
        let hf = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any] ?? [:]
        #expect(hf["tkd_pooling"] as? String == "first" && hf["do_stable_layer_norm"] as? Bool == true)
        let cache = try Self.stage("cache", data: data, extra: env)
        #expect(cache.status == 0, "\(cache.output)")
        let caches = try FileManager.default.contentsOfDirectory(
            atPath: data.appendingPathComponent("noisy/2s/teachers").path)
        #expect(caches.count == 1)
        let info =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: data.appendingPathComponent("noisy/2s/teachers/\(caches[0])/cache.json")))
            as? [String: Any] ?? [:]
        #expect(info["rollout_row"] as? String == "first")
        #expect((info["teacher"] as? String)?.hasSuffix("teachers/2s") == true)
    }
}
