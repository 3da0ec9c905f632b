import Foundation
import TKDCore
import Testing

@testable import DatasetFormat
@testable import Synthesis

@Suite("Recipes")
struct RecipeTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func parse(_ text: String) throws -> Recipe {
        try Recipe.parse(try YAMLValue.parse(text, file: "test.yaml"))
    }

    /// Expects a `ConfigError` on `line` for `key`, with `fragment` in the message.
    static func expectError(
        _ text: String, line: Int, key: String, _ fragment: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try parse(text)
            Issue.record("expected an error for \(key)", sourceLocation: sourceLocation)
        } catch let e as ConfigError {
            #expect(e.file == "test.yaml", sourceLocation: sourceLocation)
            #expect(e.line == line, "\(e)", sourceLocation: sourceLocation)
            #expect(e.key == key, "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
            #expect(!e.description.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    static let minimal = "version: 1\nname: t\nvariants:\n  - name: a\n    length_seconds: 2\n"

    @Test("the committed recipes load, with the paper's lengths and kws_streaming's labels")
    func committed() throws {
        let paper = try Recipe.load(Self.repo.appendingPathComponent("Recipes/noisy-speech-commands-v2.yaml"))
        #expect(paper.variants.map(\.name) == ["2s", "4s", "6s", "8s"])
        #expect(paper.variants.map(\.lengthSeconds) == [.const(2), .const(4), .const(6), .const(8)])
        #expect(
            paper.task.labelNames == [
                "_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
            ])
        #expect(paper.task.unknownWords.count == 25)
        #expect(paper.corpus.splits == .listFiles)
        let demo = try Recipe.load(Self.repo.appendingPathComponent("Recipes/demo.yaml"))
        #expect(demo.variants.map(\.name) == ["2s", "8s"])
    }

    @Test("defaults fill every omitted key")
    func defaults() throws {
        let r = try Self.parse(Self.minimal)
        #expect(r.seed == 0)
        #expect(r.corpus == .init(version: .v2, splits: .auto, sampleRate: 16000))
        #expect(r.task.labels == "speech_commands_12" && r.task.unknownShare == 0.1 && r.task.silenceShare == 0.1)
        #expect(r.placement.onset == .uniform)
        #expect(r.noise.sources == ["background_noise"])
        #expect(r.noise.regions == ["training": 0.6, "validation": 0.2, "testing": 0.2])
        #expect(r.level.snrDefinition == .speechActive && r.level.maxPeak == 0.99)
        #expect(r.output.format == .pcm16)
        #expect(r.onBadInput == .fail)
    }

    @Test("typos and bad values are rejected naming file, line and key")
    func errors() {
        Self.expectError(Self.minimal + "levle:\n  snr_db: 3\n", line: 6, key: "levle", "unknown key; expected one of")
        Self.expectError(
            Self.minimal + "level:\n  snr_dbb: 3\n", line: 7, key: "level.snr_dbb", "snr_db, snr_definition")
        Self.expectError(Self.minimal + "seed: abc\n", line: 6, key: "seed", "expected an integer, found 'abc'")
        Self.expectError(
            Self.minimal + "level:\n  snr_db: {type: uniform, min: 5, max: 1}\n", line: 7, key: "level.snr_db",
            "min 5.0 is greater than max 1.0")
        Self.expectError(
            Self.minimal + "level:\n  snr_db: {type: gaussian, mean: 1}\n", line: 7, key: "level.snr_db.type",
            "is not one of")
        Self.expectError(
            Self.minimal + "level:\n  snr_db: {type: uniform, min: 1, max: 5, std: 2}\n", line: 7,
            key: "level.snr_db.std", "not used by type uniform")
        Self.expectError(
            Self.minimal + "noise:\n  regions: {training: 0.8, validation: 0.1, testing: 0.2}\n", line: 7,
            key: "noise.regions", "must sum to 1")
        Self.expectError(
            Self.minimal + "output:\n  format: mp3\n", line: 7, key: "output.format", "'mp3' is not one of")
        Self.expectError(
            Self.minimal + "placement:\n  onset: {type: uniform, min: 0, max: 2}\n", line: 7, key: "placement.onset",
            "must lie in [0.0, 1.0]")
        Self.expectError("version: 2\nname: t\nvariants: []\n", line: 1, key: "version", "unsupported recipe version 2")
        Self.expectError("version: 1\nname: t\nvariants: []\n", line: 3, key: "variants", "at least one variant")
        Self.expectError("version: 1\nname: t\n", line: 1, key: "variants", "required key is missing")
        Self.expectError(
            Self.minimal + "  - name: a\n    length_seconds: 4\n", line: 6, key: "variants[1].name", "defined twice")
        Self.expectError(
            Self.minimal + "task:\n  labels: speech_commands_12\n  words: [yes]\n", line: 8, key: "task.words",
            "fixed by labels")
        Self.expectError(
            Self.minimal + "task:\n  labels: words\n  words: [yes, no]\n  unknown_words: [no]\n", line: 9,
            key: "task.unknown_words", "both a keyword and an unknown word")
        // Yams reports duplicates at the first occurrence.
        Self.expectError(Self.minimal + "seed: 1\nseed: 2\n", line: 6, key: "seed", "key given twice")
        Self.expectError(
            "version: 1\nname: t\nvariants:\n  - name: a\n   length_seconds: 2\n", line: 5, key: "", "YAML syntax error"
        )
    }

    @Test("distributions sample within their bounds and round-trip through JSON")
    func distributions() throws {
        var rng = CounterRNG(seed: 1, key: ["dist"])
        let cases: [Distribution] = [
            .const(3), .uniform(min: -5, max: 10), .normal(mean: 0, std: 5, min: -1, max: 1),
            .choice(values: [1, 2, 3], weights: [0, 1, 0]),
        ]
        for d in cases {
            for _ in 0..<500 { #expect(d.bounds.contains(d.sample(&rng))) }
            #expect(try JSONDecoder().decode(Distribution.self, from: try CanonicalJSON.encode(d)) == d)
        }
        #expect(Distribution.choice(values: [1, 2, 3], weights: [0, 1, 0]).sample(&rng) == 2)
        // The resolved recipe round-trips too (it is written into dataset.json).
        let r = try Self.parse(
            Self.minimal + "placement:\n  onset: {type: normal, mean: 0.5, std: 0.1, min: 0, max: 1}\n")
        #expect(try JSONDecoder().decode(Recipe.self, from: try CanonicalJSON.encode(r)) == r)
    }
}
