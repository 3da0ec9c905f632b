import Foundation
import TestSupport
import Testing

@Suite("tkd teacher (end to end)")
struct TeacherCLITests {
    static let model = TKDBinary.repo.appendingPathComponent("Tests/TeacherTests/Fixtures/base").path

    func sox(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sox"] + args
        try p.run()
        p.waitUntilExit()
    }

    /// The JSON header of a safetensors file.
    func header(_ url: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] ?? [:]
    }

    @Test("attentions: logits, every layer's [heads, T, T] map and a rollout; wrong rate and missing model refused")
    func attentions() throws {
        let dir = TestFolder.path("teacher")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("tone.wav"), low = dir.appendingPathComponent("tone8k.wav")
        try sox(["-n", "-r", "16000", "-b", "16", wav.path, "synth", "0.5", "sine", "440", "vol", "0.3"])
        try sox(["-n", "-r", "8000", "-b", "16", low.path, "synth", "0.5", "sine", "440", "vol", "0.3"])
        let out = dir.appendingPathComponent("a.safetensors")
        let r = try TKDBinary.run([
            "teacher", "attentions", "--teacher", Self.model, wav.path, "--out", out.path, "--rollout",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("24 frames, 2 layers × 2 heads"))
        let h = try header(out)
        #expect((h["layer.0"] as? [String: Any])?["shape"] as? [Int] == [2, 24, 24])
        #expect((h["layer.1"] as? [String: Any])?["shape"] as? [Int] == [2, 24, 24])
        #expect((h["logits"] as? [String: Any])?["shape"] as? [Int] == [12])
        #expect((h["rollout"] as? [String: Any])?["shape"] as? [Int] == [24])

        let rate = try TKDBinary.run(["teacher", "attentions", "--teacher", Self.model, low.path, "--out", out.path])
        #expect(rate.status != 0 && rate.stderr.contains("8000"), "\(rate.stderr)")
        let resampled = try TKDBinary.run([
            "teacher", "attentions", "--teacher", Self.model, low.path, "--out", out.path, "--resample",
        ])
        #expect(resampled.status == 0, "\(resampled.stderr)")
        let missing = try TKDBinary.run(["teacher", "attentions", "--teacher", dir.path, wav.path, "--out", out.path])
        #expect(missing.status != 0 && missing.stderr.contains("config.json"), "\(missing.stderr)")
    }
}
