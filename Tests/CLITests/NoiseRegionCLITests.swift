import Foundation
import TestSupport
import Testing

/// Issue 14, point 4: with the paper recipe's noise regions, no 8-s validation or test example loops its noise
/// on a corpus whose `_background_noise_` files have the real ones' lengths; the earlier 80/10/10 split does loop.
@Suite("tkd generate: noise regions and dataset.json's noise_usage")
struct NoiseRegionCLITests {
    /// The real corpus's six noise files, in seconds (to 0.1 s; pink and white noise are exactly 60 s).
    static let realLengths: [(String, Double)] = [
        ("doing_the_dishes", 95.2), ("dude_miaowing", 61.8), ("exercise_bike", 61.0), ("pink_noise", 60.0),
        ("running_tap", 61.2), ("white_noise", 60.0),
    ]

    /// A 16-kHz mono PCM16 WAV of uniform noise at about −20 dBFS.
    static func wav(samples n: Int, seed: UInt64) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8))
        u32(UInt32(36 + 2 * n))
        d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16)
        u16(1)
        u16(1)
        u32(16_000)
        u32(32_000)
        u16(2)
        u16(16)
        d.append(contentsOf: Array("data".utf8))
        u32(UInt32(2 * n))
        var state = seed &* 6_364_136_223_846_793_005 &+ 1
        var body = [Int16](repeating: 0, count: n)
        for i in 0..<n {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            body[i] = Int16(truncatingIfNeeded: Int(state >> 33) % 6_000 - 3_000)
        }
        body.withUnsafeBytes { d.append(contentsOf: $0) }
        return d
    }

    static func usage(_ dataset: URL) throws -> [String: [String: Any]] {
        let o = try JSONSerialization.jsonObject(with: Data(contentsOf: dataset.appendingPathComponent("dataset.json")))
        return (o as? [String: Any])?["noise_usage"] as? [String: [String: Any]] ?? [:]
    }

    @Test("8 s, the paper recipe: no validation or test example loops; with 80/10/10 they do")
    func paperRecipeDoesNotLoop() throws {
        let dir = try TestFolder.make("noise-regions")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = dir.appendingPathComponent("corpus")
        try FileManager.default.copyItem(at: try CLICorpus.small(), to: corpus)
        let noise = corpus.appendingPathComponent("_background_noise_")
        for name in try FileManager.default.contentsOfDirectory(atPath: noise.path) {
            try FileManager.default.removeItem(at: noise.appendingPathComponent(name))
        }
        for (i, (name, seconds)) in Self.realLengths.enumerated() {
            try Self.wav(samples: Int((seconds * 16_000).rounded()), seed: UInt64(i))
                .write(to: noise.appendingPathComponent("\(name).wav"))
        }
        let paper = TKDBinary.repo.appendingPathComponent("Recipes/noisy-speech-commands-v2.yaml")
        let text = try String(contentsOf: paper, encoding: .utf8)
        let line = "  regions: {training: 0.6, validation: 0.2, testing: 0.2}\n"
        #expect(text.contains(line), "the paper recipe's regions changed")
        let old = dir.appendingPathComponent("old-regions.yaml")
        try text.replacingOccurrences(of: line, with: "  regions: {training: 0.8, validation: 0.1, testing: 0.1}\n")
            .write(to: old, atomically: true, encoding: .utf8)
        for (recipe, name) in [(paper, "paper"), (old, "old")] {
            let out = dir.appendingPathComponent(name)
            let g = try TKDBinary.run([
                "generate", "--recipe", recipe.path, "--corpus", corpus.path, "--out", out.path, "--variant", "8s",
                "--plan-only", "-q",
            ])
            try #require(g.status == 0, "\(g.stderr)")
            let usage = try Self.usage(out)
            print("noise_usage at 8 s, \(name) regions: \(usage)")
            for split in ["validation", "testing"] {
                let looped = try #require(usage[split]?["looped_share"] as? Double)
                let distinct = try #require(usage[split]?["distinct_seconds"] as? Double)
                if name == "paper" {
                    #expect(looped == 0, "\(split): \(looped) of the examples loop their noise")
                } else {
                    // Five of the six files have ≈ 6-s regions: every example drawn from them loops.
                    #expect(looped > 0.5, "\(split), 80/10/10: looped share \(looped)")
                    #expect(distinct <= 40, "\(split), 80/10/10: \(distinct) s of distinct noise")
                }
            }
        }
    }
}
