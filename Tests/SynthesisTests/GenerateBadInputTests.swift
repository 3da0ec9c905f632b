import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import Testing

@testable import Synthesis

@Suite("Generate: bad input")
struct GenerateBadInputTests {
    @Test("a missing corpus and a corpus of the wrong release are errors")
    func corpus() throws {
        let recipe = try GenerateFixture.recipe()
        #expect(throws: SynthesisError.corpusMissing(path: "/nonexistent/sc")) {
            try DatasetGenerator.scanCorpus(URL(fileURLWithPath: "/nonexistent/sc"), recipe: recipe, jobs: 1)
        }
        let v1 = try GenerateFixture.corpusCopy("v1")
        defer { try? FileManager.default.removeItem(at: v1) }
        for w in SpeechCommands.v2OnlyWords { try FileManager.default.removeItem(at: v1.appendingPathComponent(w)) }
        #expect(throws: GenerateError.corpusVersionMismatch(corpus: v1.path, found: "v1", expected: "v2")) {
            try DatasetGenerator.scanCorpus(v1, recipe: recipe, jobs: 1)
        }
    }

    @Test("an empty keyword folder is named")
    func emptyWord() throws {
        let corpus = try GenerateFixture.corpusCopy("empty-word")
        defer { try? FileManager.default.removeItem(at: corpus) }
        let go = corpus.appendingPathComponent("go")
        for f in try FileManager.default.contentsOfDirectory(atPath: go.path) {
            try FileManager.default.removeItem(at: go.appendingPathComponent(f))
        }
        #expect(throws: GenerateError.emptyWord(corpus: corpus.path, word: "go")) {
            try DatasetGenerator.scanCorpus(corpus, recipe: try GenerateFixture.recipe(), jobs: 1)
        }
    }

    @Test("list-files without list files is an error")
    func lists() throws {
        let corpus = try GenerateFixture.corpusCopy("no-lists")
        defer { try? FileManager.default.removeItem(at: corpus) }
        try FileManager.default.removeItem(at: corpus.appendingPathComponent("testing_list.txt"))
        #expect(throws: GenerateError.splitListsMissing(corpus: corpus.path)) {
            try DatasetGenerator.scanCorpus(corpus, recipe: try GenerateFixture.recipe(), jobs: 1)
        }
    }

    @Test("noise regions too short for the crossfade are named")
    func shortNoise() throws {
        let recipe = try GenerateFixture.recipe(noise: "crossfade_seconds: 4")
        #expect {
            try GenerateFixture.generate(recipe: recipe, corpus: try SharedDemoCorpus.url(), variant: "2s")
        } throws: { e in
            guard case let .noiseTooShort(source, split, region, needed) = e as? GenerateError else { return false }
            return source == "_background_noise_/brown_noise.wav" && split == "validation" && region < needed
                && needed == 128_001
        }
    }

    @Test("all-zero noise fails naming the example and file, or is skipped and recorded")
    func silentNoise() throws {
        let corpus = try GenerateFixture.corpusCopy("zero-noise")
        defer { try? FileManager.default.removeItem(at: corpus) }
        let folder = corpus.appendingPathComponent("_background_noise_")
        for f in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(f))
        }
        try AudioWriter.write(
            [Float](repeating: 0, count: 16000 * 70), sampleRate: 16000, to: folder.appendingPathComponent("zeros.wav"))
        #expect {
            try GenerateFixture.generate(recipe: try GenerateFixture.recipe(), corpus: corpus, variant: "2s")
        } throws: { e in
            guard case let .silentNoise(_, source) = e as? GenerateError else { return false }
            return source == "_background_noise_/zeros.wav"
        }
        let skipping = try GenerateFixture.recipe("on_bad_input: skip\n")
        let out = try GenerateFixture.generate(recipe: skipping, corpus: corpus, variant: "2s")
        defer { try? FileManager.default.removeItem(at: out) }
        let info = try DatasetInfo.load(out)
        #expect(info.skipped.count == 60 + 12, "every keyword and unknown example is skipped")
        #expect(info.skipped.allSatisfy { $0.reason.contains("silent") })
        #expect(info.totals.values.reduce(0, +) == 12, "only the silence examples remain")
    }

    @Test("an unreadable keyword clip fails naming the file, or is skipped and recorded")
    func unreadableKeyword() throws {
        let corpus = try GenerateFixture.corpusCopy("bad-clip")
        defer { try? FileManager.default.removeItem(at: corpus) }
        let clip = try #require(
            try FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent("yes").path).sorted()
                .first)
        try Data("not audio".utf8).write(to: corpus.appendingPathComponent("yes/\(clip)"))
        #expect { try DatasetGenerator.scanCorpus(corpus, recipe: try GenerateFixture.recipe(), jobs: 1) } throws: {
            e in
            guard case let .badCorpusFile(path, kind, _) = e as? GenerateError else { return false }
            return path == "yes/\(clip)" && kind == "unreadable"
        }
        let out = try GenerateFixture.generate(
            recipe: try GenerateFixture.recipe("on_bad_input: skip\n"), corpus: corpus, variant: "2s")
        defer { try? FileManager.default.removeItem(at: out) }
        let info = try DatasetInfo.load(out)
        #expect(info.skipped.map(\.id) == ["yes/\(clip)"])
        #expect(info.skipped.first?.reason.hasPrefix("unreadable") == true)
    }
}
