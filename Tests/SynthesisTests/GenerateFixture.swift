import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Synthesis

/// Generation on the shared small demo corpus (3 speakers × 2 utterances).
enum GenerateFixture {
    /// 2-s and 7-s variants: 7 s is longer than the ~6-s validation/testing noise regions of the 80/10/10 split
    /// (the default before 2026-11-30, set here), so looping is exercised.
    static let recipeText = """
        version: 1
        name: gen-test
        seed: 5
        corpus: {version: v2, splits: list-files}
        task: {labels: speech_commands_12, unknown_share: 0.2, silence_share: 0.2}
        variants:
          - {name: 2s, length_seconds: 2}
          - {name: 7s, length_seconds: 7}
        level: {snr_db: {type: uniform, min: -5, max: 10}}

        """

    static func recipe(_ extra: String = "", noise: String? = nil) throws -> Recipe {
        let noiseLine =
            "noise: {regions: {training: 0.8, validation: 0.1, testing: 0.1}\(noise.map { ", \($0)" } ?? "")}\n"
        return try Recipe.parse(try YAMLValue.parse(recipeText + noiseLine + extra, file: "gen-test.yaml"))
    }

    static func generate(
        recipe: Recipe, corpus: URL, variant: String, jobs: Int = 2, shard: Shard = .whole,
        planOnly: Bool = false, out: URL? = nil, recipeDirectory: URL? = nil
    ) throws -> URL {
        let dir = out ?? TestFolder.path("gen-\(variant)")
        var o = GenerateOptions()
        o.jobs = jobs
        o.shard = shard
        o.planOnly = planOnly
        o.progress = .quiet
        let index = try DatasetGenerator.scanCorpus(corpus, recipe: recipe, jobs: 2)
        _ = try DatasetGenerator(
            recipe: recipe, variant: recipe.variant(variant)!, corpusRoot: corpus,
            recipeDirectory: recipeDirectory ?? corpus, dataset: dir, options: o
        ).run(index: index)
        return dir
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: [String: Result<URL, Error>] = [:]

    /// A reference dataset per variant, generated once per process (jobs 2, whole).
    static func reference(_ variant: String) throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let c = cached[variant] { return try c.get() }
        let r = Result { try generate(recipe: try recipe(), corpus: try SharedDemoCorpus.url(), variant: variant) }
        cached[variant] = r
        return try r.get()
    }

    /// A private copy of the shared corpus that a test may modify.
    static func corpusCopy(_ name: String) throws -> URL {
        let copy = TestFolder.path("corpus-\(name)")
        try FileManager.default.copyItem(at: try SharedDemoCorpus.url(), to: copy)
        return copy
    }
}
