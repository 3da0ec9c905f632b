import AudioIO
import Foundation
import TKDCore
import TestSupport
import Testing

@testable import DatasetFormat
@testable import Synthesis

/// Issue 25, part 1: stream datasets (`kind: stream`) — long recordings with every event's position recorded.
@Suite("Stream datasets")
struct StreamDatasetTests {
    static let text = """
        version: 1
        kind: stream
        name: s
        seed: 3
        corpus: {version: v2, splits: list-files}
        splits: [validation, testing]
        streams:
          - {name: pos, count: 2, length_seconds: 20, targets: 5, distractors: 3}
          - {name: neg, count: 1, length_seconds: {type: uniform, min: 40, max: 50}, distractors: 6}
        events: {min_gap_seconds: 0.5, snr_db: {type: uniform, min: -5, max: 15}}
        silences: {count: 2, length_seconds: {type: uniform, min: 0.5, max: 2}}
        noise: {regions: {training: 0.8, validation: 0.1, testing: 0.1}}
        level: {noise_gain_db: {type: uniform, min: -20, max: 0}}

        """

    static func parse(_ text: String) throws -> StreamRecipe {
        try StreamRecipe.parse(try YAMLValue.parse(text, file: "s.yaml"))
    }

    static func generate(
        _ recipe: StreamRecipe, out: URL, jobs: Int = 2, shard: Shard = .whole, corpus: URL? = nil
    ) throws -> GenerateSummary {
        var o = GenerateOptions()
        o.jobs = jobs
        o.shard = shard
        o.progress = .quiet
        let root = try corpus ?? SharedDemoCorpus.url()
        let index = try StreamDatasetGenerator.scanCorpus(root, recipe: recipe, jobs: 2)
        return try StreamDatasetGenerator(
            recipe: recipe, corpusRoot: root, recipeDirectory: root, dataset: out, options: o
        ).run(index: index)
    }

    /// Expects a one-line `ConfigError` on `line` for `key`, with `fragment` in the message.
    static func expectError(
        _ text: String, line: Int, key: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try parse(text)
            Issue.record("expected an error for \(key)", sourceLocation: sourceLocation)
        } catch let e as ConfigError {
            #expect(e.line == line, "\(e)", sourceLocation: sourceLocation)
            #expect(e.key == key, "\(e.key)", sourceLocation: sourceLocation)
            #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
            #expect(!e.description.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("the committed stream recipes load; defaults fill what is left out; labels are the training recipe's")
    func recipes() throws {
        for name in ["streams-demo.yaml", "streams-real.yaml"] {
            let url = RecipeTests.repo.appendingPathComponent("Recipes/\(name)")
            #expect(try StreamRecipe.isStreamRecipe(url))
            let r = try StreamRecipe.load(url)
            #expect(
                r.labelNames
                    == (try Recipe.load(RecipeTests.repo.appendingPathComponent("Recipes/demo.yaml")))
                    .task.labelNames)
            #expect(r.streams.contains { $0.isNegative } && r.streams.contains { !$0.isNegative })
        }
        #expect(try !StreamRecipe.isStreamRecipe(RecipeTests.repo.appendingPathComponent("Recipes/demo.yaml")))
        let minimal = try Self.parse(
            "version: 1\nkind: stream\nname: m\nstreams:\n  - {name: a, count: 1, length_seconds: 10, targets: 2}\n")
        #expect(minimal.splits == Split.allCases && minimal.events.minGapSeconds == 1 && minimal.silences == nil)
        #expect(minimal.events.snrDefinition == .speechActive && minimal.level.maxPeak == 0.99)
        #expect(minimal.distractorLabel == "_unknown_" && minimal.task.unknownWords.count == 25)
    }

    @Test("bad stream recipes: events that cannot fit, no distractor words, a typo, a split, a group twice")
    func badRecipes() {
        let head = "version: 1\nkind: stream\nname: m\n"
        Self.expectError(
            head + "streams:\n  - {name: a, count: 1, length_seconds: 5, targets: 4, distractors: 2}\n", line: 5,
            key: "streams[0]", "cannot fit: 6 one-second events with 1.0-s gaps need 11.0 s; the stream may be 5.0 s")
        Self.expectError(
            head + "silences: {count: 2, length_seconds: 3}\nstreams:\n  - {name: a, count: 1, length_seconds: 9, "
                + "targets: 2}\n", line: 6, key: "streams[0]", "2 silences of up to 3.0 s")
        Self.expectError(
            head + "task: {labels: words, words: [yes], unknown_words: []}\n"
                + "streams:\n  - {name: a, count: 1, length_seconds: 9, targets: 1, distractors: 1}\n", line: 6,
            key: "streams[0].distractors", "needs distractor words")
        Self.expectError(
            head + "streams:\n  - {name: a, count: 1, length_seconds: 9, targets: 1, distractor: 1}\n", line: 5,
            key: "streams[0].distractor", "unknown key; expected one of: name, count, length_seconds, targets")
        Self.expectError(
            head + "splits: [testing, dev]\nstreams:\n  - {name: a, count: 1, length_seconds: 9, targets: 1}\n",
            line: 4,
            key: "splits[1]", "'dev' is not one of: training, validation, testing")
        Self.expectError(
            head + "streams:\n  - {name: a, count: 1, length_seconds: 9, targets: 1}\n"
                + "  - {name: a, count: 1, length_seconds: 9, targets: 1}\n", line: 6, key: "streams[1].name",
            "defined twice")
        Self.expectError(
            head + "streams:\n  - {name: a_b, count: 1, length_seconds: 9, targets: 1}\n", line: 5,
            key: "streams[0].name",
            "letters, digits or '-'")
        Self.expectError(
            head + "events: {min_gap_seconds: -1}\nstreams:\n  - {name: a, count: 1, length_seconds: 9, targets: 1}\n",
            line: 4, key: "events.min_gap_seconds", "-1.0 is outside [0.0, 600.0]")
    }

    @Test("byte-identical whatever --jobs or --shard; a finished shard run again reuses its streams")
    func determinism() throws {
        let recipe = try Self.parse(Self.text)
        let a = TestFolder.path("streams-a"), b = TestFolder.path("streams-b")
        defer { for u in [a, b] { try? FileManager.default.removeItem(at: u) } }
        let whole = try Self.generate(recipe, out: a, jobs: 1)
        #expect(whole.made == 6 && whole.info != nil)
        let first = try Self.generate(recipe, out: b, jobs: 2, shard: Shard(index: 1, count: 2))
        #expect(first.info == nil && first.made == 3)
        let again = try Self.generate(recipe, out: b, jobs: 2, shard: Shard(index: 1, count: 2))
        #expect(again.made == 0 && again.reused == 3)
        let last = try Self.generate(recipe, out: b, jobs: 1, shard: Shard(index: 0, count: 2))
        #expect(last.info != nil)
        #expect(try TestFolder.digests(a) == TestFolder.digests(b))
        // A completed dataset run again is a check: nothing made.
        let check = try Self.generate(recipe, out: a, jobs: 2)
        #expect(check.made == 0 && check.reused == 6)
    }

    @Test("what a stream claims holds: events inside, in order and apart; silences silent; SNRs met; splits apart")
    func contents() throws {
        let recipe = try Self.parse(Self.text)
        let dir = TestFolder.path("streams-contents")
        defer { try? FileManager.default.removeItem(at: dir) }
        let info = try #require(try Self.generate(recipe, out: dir).info)
        let records = try StreamRecord.loadAll(dataset: dir)
        #expect(records.count == 6 && records.allSatisfy { recipe.splits.contains($0.split) })
        #expect(info.streams?["testing"]?.targets == 10 && info.streams?["testing"]?.distractors == 12)
        #expect(info.streamRecipe == recipe && info.recipe == nil)
        let sr = 16000, gap = sr / 2
        var speakers: [Split: Set<String>] = [:]
        var floored = 0
        /// The event's clip RMS on its SNR span at unit gain.
        func rms(_ e: StreamEvent) -> Double {
            let url = (try? SharedDemoCorpus.url())!.appendingPathComponent(e.placement.source)
            let clip = Mixer.oneSecond(
                (try? AudioReader.read(url, options: .init(sampleRate: sr)).samples) ?? [], sampleRate: sr)
            let span = e.snrSpan(recipe.events.snrDefinition)
            return Levels.rms(span.map { clip[$0 - e.placement.onsetSample] })
        }
        for r in records {
            #expect(r.problems.isEmpty, "\(r.problems)")
            #expect(r.silences.count == 2)
            let spans =
                (r.events.map { $0.placement.onsetSample..<$0.placement.offsetSample } + r.silences.map(\.range))
                .sorted { $0.lowerBound < $1.lowerBound }
            for (x, y) in zip(spans, spans.dropFirst()) { #expect(y.lowerBound - x.upperBound >= gap, "\(r.id)") }
            let audio = try AudioReader.read(try DatasetLayout(dir).audio(r), options: .init(sampleRate: nil))
            #expect(audio.samples.count == r.numSamples)
            for s in r.silences { #expect(s.range.allSatisfy { audio.samples[$0] == 0 }, "\(r.id) silence \(s)") }
            for s in r.noise {
                let region = info.noiseFiles.first { $0.source == s.source }!.region(r.split)
                #expect(region.contains(s.sourceStartSample) && s.sourceStartSample + s.numSamples <= region.upperBound)
            }
            for e in r.events {
                // The gain is set on the rendered bed, so only float rounding separates the achieved SNR — or the
                // event was raised to the level floor, and its SNR is higher than drawn.
                let level = 20 * log10(pow(10, e.placement.gainDB / 20) * rms(e))
                if abs(level - recipe.level.minEventDBFS) < 1e-6 {
                    floored += 1
                    #expect((e.snrDBAchieved ?? .nan) > e.snrDB, "\(r.id) \(e.word)")
                } else {
                    #expect(level > recipe.level.minEventDBFS)
                    #expect(abs((e.snrDBAchieved ?? .nan) - e.snrDB) < 1e-3, "\(r.id) \(e.word)")
                }
                #expect((e.kind == .target) == recipe.task.words.contains(e.word))
                #expect(e.kind == .target ? e.label == e.word : e.label == "_unknown_")
                speakers[r.split, default: []].insert(e.placement.speaker)
            }
            #expect(r.group == "neg" ? r.events.allSatisfy { $0.kind == .distractor } : true)
        }
        #expect(speakers[.validation]!.isDisjoint(with: speakers[.testing]!))
        #expect(floored < records.flatMap(\.events).count / 2, "\(floored) events at the level floor")
        // Every clip of the split is dealt out before any is used twice.
        let testing = records.filter { $0.split == .testing }.flatMap(\.events).filter { $0.kind == .target }
        let pool = try StreamDatasetGenerator.scanCorpus(try SharedDemoCorpus.url(), recipe: recipe, jobs: 2)
            .utterances.filter { $0.split == .testing && recipe.task.words.contains($0.word) }.count
        #expect(Set(testing.map(\.placement.source)).count == min(pool, testing.count))
    }

    @Test("a split without the clips its streams need is refused, naming the split and the words")
    func noClips() throws {
        let recipe = try Self.parse(
            Self.text.replacingOccurrences(of: "corpus: {", with: "task: {unknown_words: [nosuchword]}\ncorpus: {"))
        #expect {
            _ = try Self.generate(recipe, out: TestFolder.path("streams-noclips"))
        } throws: { error in
            let d = "\(error)"
            return d.contains("validation split has no distractor clips (words: nosuchword)") && !d.contains("\n")
        }
    }

    @Test("Manifests/stream.schema.json requires exactly the keys every stream record carries, at every level")
    func schema() throws {
        let url = RecipeTests.repo.appendingPathComponent("Manifests/stream.schema.json")
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let defs = schema["$defs"] as! [String: [String: Any]]
        func keys(_ o: [String: Any]) -> (Set<String>, Set<String>) { ManifestSchemaTests.keys(o) }
        let dir = TestFolder.path("streams-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Self.generate(try Self.parse(Self.text), out: dir)
        var events = 0, silences = 0
        for r in try StreamRecord.loadAll(dataset: dir) {
            let object = try JSONSerialization.jsonObject(with: try r.canonicalJSON()) as! [String: Any]
            let (required, properties) = keys(schema)
            #expect(Set(object.keys) == required && required == properties)
            for e in object["events"] as! [[String: Any]] {
                events += 1
                #expect(Set(e.keys) == keys(defs["event"]!).0 && keys(defs["event"]!).0 == keys(defs["event"]!).1)
                let p = e["placement"] as! [String: Any]
                #expect(Set(p.keys) == keys(defs["placement"]!).0)
            }
            for x in object["silences"] as! [[String: Any]] {
                silences += 1
                #expect(Set(x.keys) == keys(defs["span"]!).0)
            }
            for x in object["noise"] as! [[String: Any]] { #expect(Set(x.keys) == keys(defs["segment"]!).0) }
        }
        #expect(events > 0 && silences > 0)
    }

    @Test("level.min_event_dbfs: an event the drawn SNR would leave quieter than the floor is raised to it")
    func levelFloor() throws {
        let recipe = try Self.parse(
            Self.text.replacingOccurrences(of: "level: {", with: "level: {min_event_dbfs: -12, ")
                .replacingOccurrences(of: "snr_db: {type: uniform, min: -5, max: 15}", with: "snr_db: -30"))
        #expect(recipe.level.minEventDBFS == -12)
        let dir = TestFolder.path("streams-floor")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Self.generate(recipe, out: dir)
        let events = try StreamRecord.loadAll(dataset: dir).flatMap(\.events)
        // At −30 dB SNR against beds at −20…0 dB gain, every event is below −12 dBFS, so every one is floored.
        #expect(!events.isEmpty && events.allSatisfy { ($0.snrDBAchieved ?? -99) > -30 + 1 })
    }
}
