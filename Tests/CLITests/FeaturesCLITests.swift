import Foundation
import TestSupport
import Testing

@Suite("tkd features (end to end)")
struct FeaturesCLITests {
    @Test("extract writes one .npy per input; a dataset store is written, resumed and refused on bad input")
    func extractAndStore() throws {
        let corpus = try CLICorpus.small()
        let out = TestFolder.path("features")
        let dataset = TestFolder.path("features-dataset")
        defer { for d in [out, dataset] { try? FileManager.default.removeItem(at: d) } }
        let clips = try FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent("yes").path)
            .sorted().prefix(2)
            .map { corpus.appendingPathComponent("yes/\($0)").path }
        let e = try TKDBinary.run(
            ["features", "extract", "--preset", "kws-streaming-mfcc20", "--out", out.path, "-q"] + clips)
        #expect(e.status == 0, "\(e.stderr)")
        let npy = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(
            npy == clips.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent + ".npy" }.sorted())
        // 1-s clips: 49 frames × 20 coefficients of float32 after a 128-byte header.
        let size =
            try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(npy[0]).path)[.size] as? Int
        #expect(size == 128 + 49 * 20 * 4)

        let bad = try TKDBinary.run(["features", "extract", "--preset", "mfcc", "--out", out.path, clips[0]])
        #expect(bad.status != 0 && bad.stderr.contains("mfcc"))
        let eight = TestFolder.path("8k")
        defer { try? FileManager.default.removeItem(at: eight) }
        let sox = Process()
        sox.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sox.arguments = ["sox", clips[0], "-r", "8000", eight.appendingPathExtension("wav").path]
        try sox.run()
        sox.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: eight.appendingPathExtension("wav")) }
        let rate = try TKDBinary.run([
            "features", "extract", "--preset", "logmel40", "--out", out.path, eight.appendingPathExtension("wav").path,
        ])
        #expect(rate.status != 0 && rate.stderr.contains("8000 Hz") && rate.stderr.contains("--resample"))
        let resampled = try TKDBinary.run([
            "features", "extract", "--preset", "logmel40", "--resample", "--out", out.path,
            eight.appendingPathExtension("wav").path,
        ])
        #expect(resampled.status == 0, "\(resampled.stderr)")

        let g = try TKDBinary.run([
            "generate", "--recipe", TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path,
            "--corpus", corpus.path, "--out", dataset.path, "--variant", "2s", "-q",
        ])
        #expect(g.status == 0, "\(g.stderr)")
        let s = try TKDBinary.run(["features", "--dataset", dataset.path, "--preset", "logmel40", "--jobs", "2", "-q"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.contains("72 examples in 1 shard(s) (1 made, 0 kept)"))
        let again = try TKDBinary.run(["features", "store", "--dataset", dataset.path, "--preset", "logmel40", "-q"])
        #expect(again.stdout.contains("(0 made, 1 kept)"))
        let f16 = try TKDBinary.run([
            "features", "--dataset", dataset.path, "--preset", "logmel40", "--dtype", "float16",
        ])
        #expect(f16.status != 0 && f16.stderr.contains("features/logmel40"))
    }
}
