import AudioIO
import Foundation
import Testing
import TKDCore
@testable import Synthesis

/// Generation on the shared small demo corpus (3 speakers × 2 utterances).
enum GenerateFixture {
    /// 2-s and 7-s variants: 7 s is longer than the ~6-s validation/testing noise regions, so looping is exercised.
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

    static func recipe(_ extra: String = "") throws -> Recipe {
        try Recipe.parse(try YAMLValue.parse(recipeText + extra, file: "gen-test.yaml"))
    }

    static func generate(recipe: Recipe, corpus: URL, variant: String, jobs: Int = 2, shard: Shard = .whole,
                         planOnly: Bool = false, out: URL? = nil, recipeDirectory: URL? = nil) throws -> URL {
        let dir = out ?? SharedDemoCorpus.tempDir("gen-\(variant)")
        var o = GenerateOptions()
        o.jobs = jobs
        o.shard = shard
        o.planOnly = planOnly
        o.progress = .quiet
        let index = try DatasetGenerator.scanCorpus(corpus, recipe: recipe, jobs: 2)
        _ = try DatasetGenerator(recipe: recipe, variant: recipe.variant(variant)!, corpusRoot: corpus,
                                 recipeDirectory: recipeDirectory ?? corpus, dataset: dir, options: o).run(index: index)
        return dir
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: [String: Result<URL, Error>] = [:]

    /// A reference dataset per variant, generated once per process (jobs 2, whole).
    static func reference(_ variant: String) throws -> URL {
        lock.lock(); defer { lock.unlock() }
        if let c = cached[variant] { return try c.get() }
        let r = Result { try generate(recipe: try recipe(), corpus: try SharedDemoCorpus.url(), variant: variant) }
        cached[variant] = r
        return try r.get()
    }

    /// A private copy of the shared corpus that a test may modify.
    static func corpusCopy(_ name: String) throws -> URL {
        let copy = SharedDemoCorpus.tempDir("corpus-\(name)")
        try FileManager.default.copyItem(at: try SharedDemoCorpus.url(), to: copy)
        return copy
    }
}

@Suite("Generate")
struct GenerateTests {
    @Test("--jobs 1, --jobs 2 and --shard 0/2 + 1/2 give byte-identical datasets", arguments: ["2s", "7s"])
    func determinism(variant: String) throws {
        let reference = try GenerateFixture.reference(variant)
        let corpus = try SharedDemoCorpus.url()
        let recipe = try GenerateFixture.recipe()
        let serial = try GenerateFixture.generate(recipe: recipe, corpus: corpus, variant: variant, jobs: 1)
        let sharded = SharedDemoCorpus.tempDir("sharded")
        for i in [1, 0] {  // order does not matter; the last to finish merges
            _ = try GenerateFixture.generate(recipe: recipe, corpus: corpus, variant: variant, shard: Shard(index: i, count: 2), out: sharded)
        }
        defer { for d in [serial, sharded] { try? FileManager.default.removeItem(at: d) } }
        let want = try SharedDemoCorpus.digests(reference)
        #expect(want.keys.contains("manifests/training.jsonl") && want.keys.contains("dataset.json"))
        #expect(try SharedDemoCorpus.digests(serial) == want)
        #expect(try SharedDemoCorpus.digests(sharded) == want)
    }

    @Test("manifests are canonical and every record is consistent with its audio, its split's noise regions and dataset.json")
    func manifests() throws {
        for variant in ["2s", "7s"] {
            let dir = try GenerateFixture.reference(variant)
            let info = try DatasetInfo.load(dir)
            #expect(info.labels == ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"])
            let length = variant == "2s" ? 32000 : 112_000
            var ids = Set<String>()
            var looped = 0
            for split in Split.allCases {
                let data = try Data(contentsOf: dir.appendingPathComponent("manifests/\(split.rawValue).jsonl"))
                let records = try CanonicalJSON.decodeLines(ExampleRecord.self, from: data, path: split.rawValue)
                // Canonical: re-encoding gives the same bytes; sorted by id.
                #expect(try ExampleRecord.manifestData(records) == data)
                #expect(records.map(\.id) == records.map(\.id).sorted())
                #expect(records.count == info.totals[split.rawValue])
                for r in records {
                    #expect(ids.insert(r.id).inserted, "duplicate id \(r.id)")
                    #expect(r.split == split && r.numSamples == length && r.sampleRate == 16000)
                    #expect(info.labels[r.labelIndex] == r.label)
                    #expect(try SHA256.hex(fileAt: dir.appendingPathComponent(r.audio)) == r.audioSHA256)
                    if let k = r.keyword {
                        #expect(k.offsetSample == k.onsetSample + 16000 && k.onsetSample >= 0 && k.offsetSample <= r.numSamples)
                        #expect(k.onsetSample <= k.speechOnsetSample && k.speechOnsetSample < k.speechOffsetSample && k.speechOffsetSample <= k.offsetSample)
                        #expect(SplitRule.official.split(of: k.source) == split)
                        #expect(r.label == (Recipe.speechCommands12.contains(k.word) ? k.word : "_unknown_"))
                        #expect(abs(r.snrDB! - r.snrDBAchieved!) < 1e-3, "\(r.id): target \(r.snrDB!) achieved \(r.snrDBAchieved!)")
                        #expect((-5...10).contains(r.snrDB!))
                    } else {
                        #expect(r.label == "_silence_" && r.snrDB == nil && r.snrDBAchieved == nil)
                    }
                    #expect(r.scale > 0 && r.scale <= 1)
                    // Noise segments: inside the split's region, contiguous with overlaps equal to the fades, covering the example.
                    var end = 0
                    for (i, s) in r.noise.enumerated() {
                        let file = try #require(info.noiseFiles.first { $0.source == s.source })
                        let region = file.region(split)
                        #expect(region.contains(s.sourceStartSample) && s.sourceStartSample + s.numSamples <= region.upperBound)
                        #expect(s.destStartSample == (i == 0 ? 0 : end - s.fadeInSamples))
                        if i > 0 { #expect(s.fadeInSamples == r.noise[i - 1].fadeOutSamples && s.fadeInSamples == 800) }
                        end = s.destStartSample + s.numSamples
                    }
                    #expect(end == r.numSamples)
                    if r.noise.count > 1 { looped += 1 }
                }
            }
            #expect(variant == "2s" ? looped == 0 : looped > 0, "\(variant): \(looped) looped examples")
            // Regions are disjoint and ordered training < validation < testing in every file.
            for f in info.noiseFiles {
                #expect(f.region(.training).upperBound <= f.region(.validation).lowerBound)
                #expect(f.region(.validation).upperBound <= f.region(.testing).lowerBound)
                #expect(f.region(.testing).upperBound == f.numSamples)
            }
            // 20 keyword clips per split (10 words × 2 utterances of the split's speaker), 20 % unknown and silence.
            #expect(info.counts["validation"]?["yes"] == 2)
            #expect(info.counts["validation"]?["_unknown_"] == 4 && info.counts["validation"]?["_silence_"] == 4)
        }
    }

    @Test("onsets are uniform over the whole free range (no clamping at the edges)")
    func onsetSpread() throws {
        // Many draws of the planner's onset rule for one example length, by example id.
        let recipe = try GenerateFixture.recipe()
        let free = 7 * 16000 - 16000
        var rngs = (0..<4000).map { CounterRNG(seed: recipe.seed, key: ["generate", "7s", "training", "id\($0)"]) }
        var onsets: [Int] = []
        for i in rngs.indices {
            _ = recipe.variants[1].lengthSeconds.sample(&rngs[i])
            onsets.append(rngs[i].uniformInt(0...free))
        }
        let bins = Dictionary(grouping: onsets, by: { $0 * 10 / (free + 1) }).mapValues(\.count)
        #expect(bins.count == 10)
        #expect(bins.values.allSatisfy { (300...500).contains($0) }, "\(bins.sorted { $0.key < $1.key })")
        #expect(onsets.min()! < free / 50 && onsets.max()! > free - free / 50)
    }

    @Test("plan-only then render reproduces the audio byte for byte; a changed source is refused by name")
    func planAndRender() throws {
        let reference = try GenerateFixture.reference("7s")
        let corpus = try GenerateFixture.corpusCopy("render")
        defer { try? FileManager.default.removeItem(at: corpus) }
        let planned = try GenerateFixture.generate(recipe: try GenerateFixture.recipe(), corpus: corpus, variant: "7s", planOnly: true)
        defer { try? FileManager.default.removeItem(at: planned) }
        #expect(!FileManager.default.fileExists(atPath: planned.appendingPathComponent("audio").path))
        #expect(try DatasetInfo.load(planned).audioRendered == false)
        #expect(try Data(contentsOf: planned.appendingPathComponent("manifests/testing.jsonl"))
                == Data(contentsOf: reference.appendingPathComponent("manifests/testing.jsonl")))

        var renderer = DatasetRenderer(dataset: planned, corpusRoot: corpus, noiseBase: corpus)
        renderer.jobs = 2
        renderer.progress = .quiet
        let summary = try renderer.run()
        #expect(summary.rendered > 0 && summary.alreadyPresent == 0)
        #expect(try SharedDemoCorpus.digests(planned) == SharedDemoCorpus.digests(reference))

        // Delete one file and change one keyword source: the deleted file's source is checked first.
        let records = try DatasetInfo.loadManifests(planned)
        let victim = try #require(records.first { $0.keyword != nil })
        try FileManager.default.removeItem(at: planned.appendingPathComponent(victim.audio))
        let source = corpus.appendingPathComponent(victim.keyword!.source)
        var x = try AudioReader.read(source).samples
        x[100] += 0.01
        try AudioWriter.write(x, sampleRate: 16000, to: source)
        #expect { try renderer.run() } throws: { e in
            guard case let .sourceChanged(path, recorded, _) = e as? GenerateError else { return false }
            return path == source.path && recorded == victim.keyword!.sourceSHA256
        }
        // A changed noise file is refused before anything is rendered.
        let noise = corpus.appendingPathComponent("_background_noise_/hum_noise.wav")
        var n = try AudioReader.read(noise).samples
        n[0] = 0.5
        try AudioWriter.write(n, sampleRate: 16000, to: noise)
        #expect { try renderer.run() } throws: { e in
            guard case let .sourceChanged(path, _, _) = e as? GenerateError else { return false }
            return path == noise.path
        }
    }

    @Test("an interrupted run (journal with a torn last line, stale temporaries, missing files) resumes to identical bytes")
    func resume() throws {
        let reference = try GenerateFixture.reference("2s")
        let recipe = try GenerateFixture.recipe()
        let corpus = try SharedDemoCorpus.url()
        // Simulate the state a kill leaves: half the work journalled, the last line cut, a partial file.
        let dir = SharedDemoCorpus.tempDir("resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let records = try DatasetInfo.loadManifests(reference).sorted { $0.id < $1.id }
        let journalURL = dir.appendingPathComponent(".tkd-work/journal-0-of-1.jsonl")
        var journal = Data()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for r in records.prefix(records.count / 2) {
            journal.append(try encoder.encode(["record": r])); journal.append(0x0A)
            let target = dir.appendingPathComponent(r.audio)
            try AtomicFile.createParent(of: target)
            try FileManager.default.copyItem(at: reference.appendingPathComponent(r.audio), to: target)
        }
        journal.append(try encoder.encode(["record": records[records.count / 2]]).prefix(40))
        try AtomicFile.write(journal, to: journalURL)
        let stale = AtomicFile.temporaryURL(for: dir.appendingPathComponent(records.last!.audio))
        try Data("partial".utf8).write(to: stale)
        // One journalled file was damaged after it was written: it must be re-made, not trusted.
        try Data("damaged".utf8).write(to: dir.appendingPathComponent(records[0].audio))

        var o = GenerateOptions()
        o.progress = .quiet
        o.jobs = 2
        let index = try DatasetGenerator.scanCorpus(corpus, recipe: recipe, jobs: 2)
        let summary = try DatasetGenerator(recipe: recipe, variant: recipe.variant("2s")!, corpusRoot: corpus,
                                           recipeDirectory: corpus, dataset: dir, options: o).run(index: index)
        #expect(summary.reused == records.count / 2 - 1)
        #expect(summary.made == records.count - summary.reused)
        #expect(try SharedDemoCorpus.digests(dir) == SharedDemoCorpus.digests(reference))
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        // Running again on the finished dataset verifies and reuses everything.
        let again = try DatasetGenerator(recipe: recipe, variant: recipe.variant("2s")!, corpusRoot: corpus,
                                         recipeDirectory: corpus, dataset: dir, options: o).run(index: index)
        #expect(again.made == 0 && again.reused == records.count)
    }

    @Test("a noise folder outside the corpus, at another sample rate, is resampled, recorded by its recipe path, and re-renders")
    func extraNoiseFolder() throws {
        let base = SharedDemoCorpus.tempDir("extra-noise")
        defer { try? FileManager.default.removeItem(at: base) }
        let noise = NoiseSynthesizer.make(.pink, sampleRate: 22050, seed: 3)
        try AudioWriter.write(noise, sampleRate: 22050, to: base.appendingPathComponent("noises/sub/pink22k.wav"))
        let recipe = try GenerateFixture.recipe("noise: {sources: [noises]}\n")
        let corpus = try SharedDemoCorpus.url()
        let direct = try GenerateFixture.generate(recipe: recipe, corpus: corpus, variant: "2s", recipeDirectory: base)
        defer { try? FileManager.default.removeItem(at: direct) }
        let info = try DatasetInfo.load(direct)
        #expect(info.noiseFiles.map(\.source) == ["noises/sub/pink22k.wav"])
        #expect(info.noiseFiles.first?.nativeSampleRate == 22050)
        #expect(info.noiseFiles.first?.numSamples == Resampler.outputLength(inputFrames: noise.count, from: 22050, to: 16000))
        #expect(try DatasetInfo.loadManifests(direct).allSatisfy { $0.noise.allSatisfy { $0.source == "noises/sub/pink22k.wav" } })

        let planned = try GenerateFixture.generate(recipe: recipe, corpus: corpus, variant: "2s", planOnly: true, recipeDirectory: base)
        defer { try? FileManager.default.removeItem(at: planned) }
        var renderer = DatasetRenderer(dataset: planned, corpusRoot: corpus, noiseBase: base)
        renderer.progress = .quiet
        try renderer.run()
        #expect(try SharedDemoCorpus.digests(planned) == SharedDemoCorpus.digests(direct))
    }

    @Test("unfinished shards of another recipe are not mixed in: the second plan is refused")
    func mixedShards() throws {
        let corpus = try SharedDemoCorpus.url()
        let dir = SharedDemoCorpus.tempDir("mixed")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try GenerateFixture.generate(recipe: try GenerateFixture.recipe(), corpus: corpus, variant: "2s",
                                         shard: Shard(index: 0, count: 2), out: dir)
        var other = try GenerateFixture.recipe()
        other.level.maxPeak = 0.5
        #expect(throws: GenerateError.outputFromOtherRecipe(path: dir.path)) {
            _ = try GenerateFixture.generate(recipe: other, corpus: corpus, variant: "2s", shard: Shard(index: 1, count: 2), out: dir)
        }
    }

    @Test("a folder holding a dataset of another recipe is refused")
    func foreignDataset() throws {
        let reference = try GenerateFixture.reference("2s")
        var changed = try GenerateFixture.recipe()
        changed.seed = 6
        let index = try DatasetGenerator.scanCorpus(try SharedDemoCorpus.url(), recipe: changed, jobs: 1)
        var o = GenerateOptions()
        o.progress = .quiet
        #expect(throws: GenerateError.outputFromOtherRecipe(path: reference.path)) {
            _ = try DatasetGenerator(recipe: changed, variant: changed.variant("2s")!, corpusRoot: try SharedDemoCorpus.url(),
                                     recipeDirectory: reference, dataset: reference, options: o).run(index: index)
        }
    }
}

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
        for w in CorpusScanner.v2OnlyWords { try FileManager.default.removeItem(at: v1.appendingPathComponent(w)) }
        #expect(throws: GenerateError.corpusVersionMismatch(corpus: v1.path, found: "v1", expected: "v2")) {
            try DatasetGenerator.scanCorpus(v1, recipe: recipe, jobs: 1)
        }
    }

    @Test("an empty keyword folder is named")
    func emptyWord() throws {
        let corpus = try GenerateFixture.corpusCopy("empty-word")
        defer { try? FileManager.default.removeItem(at: corpus) }
        let go = corpus.appendingPathComponent("go")
        for f in try FileManager.default.contentsOfDirectory(atPath: go.path) { try FileManager.default.removeItem(at: go.appendingPathComponent(f)) }
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
        let recipe = try GenerateFixture.recipe("noise: {crossfade_seconds: 4}\n")
        #expect { try GenerateFixture.generate(recipe: recipe, corpus: try SharedDemoCorpus.url(), variant: "2s") } throws: { e in
            guard case let .noiseTooShort(source, split, region, needed) = e as? GenerateError else { return false }
            return source == "_background_noise_/brown_noise.wav" && split == "validation" && region < needed && needed == 128_001
        }
    }

    @Test("all-zero noise fails naming the example and file, or is skipped and recorded")
    func silentNoise() throws {
        let corpus = try GenerateFixture.corpusCopy("zero-noise")
        defer { try? FileManager.default.removeItem(at: corpus) }
        let folder = corpus.appendingPathComponent("_background_noise_")
        for f in try FileManager.default.contentsOfDirectory(atPath: folder.path) { try FileManager.default.removeItem(at: folder.appendingPathComponent(f)) }
        try AudioWriter.write([Float](repeating: 0, count: 16000 * 70), sampleRate: 16000, to: folder.appendingPathComponent("zeros.wav"))
        #expect { try GenerateFixture.generate(recipe: try GenerateFixture.recipe(), corpus: corpus, variant: "2s") } throws: { e in
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
        let clip = try #require(try FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent("yes").path).sorted().first)
        try Data("not audio".utf8).write(to: corpus.appendingPathComponent("yes/\(clip)"))
        #expect { try DatasetGenerator.scanCorpus(corpus, recipe: try GenerateFixture.recipe(), jobs: 1) } throws: { e in
            guard case let .badCorpusFile(path, kind, _) = e as? GenerateError else { return false }
            return path == "yes/\(clip)" && kind == "unreadable"
        }
        let out = try GenerateFixture.generate(recipe: try GenerateFixture.recipe("on_bad_input: skip\n"), corpus: corpus, variant: "2s")
        defer { try? FileManager.default.removeItem(at: out) }
        let info = try DatasetInfo.load(out)
        #expect(info.skipped.map(\.id) == ["yes/\(clip)"])
        #expect(info.skipped.first?.reason.hasPrefix("unreadable") == true)
    }
}

@Suite("Manifest schema")
struct ManifestSchemaTests {
    static let schemaURL = RecipeTests.repo.appendingPathComponent("Manifests/manifest.schema.json")

    /// The keys of an object schema: (required, properties).
    static func keys(_ object: [String: Any]) -> (Set<String>, Set<String>) {
        (Set(object["required"] as? [String] ?? []), Set((object["properties"] as? [String: Any] ?? [:]).keys))
    }

    @Test("Manifests/manifest.schema.json requires exactly the keys every record carries, at every level")
    func schemaMatchesRecords() throws {
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.schemaURL)) as! [String: Any]
        let defs = schema["$defs"] as! [String: [String: Any]]
        let dir = try GenerateFixture.reference("7s")
        var sawKeyword = false, sawSilence = false
        for record in try DatasetInfo.loadManifests(dir) {
            let object = try JSONSerialization.jsonObject(with: try record.canonicalJSON()) as! [String: Any]
            let (required, properties) = Self.keys(schema)
            #expect(Set(object.keys) == required && required == properties, "\(Set(object.keys).symmetricDifference(required))")
            if let keyword = object["keyword"] as? [String: Any] {
                sawKeyword = true
                let (kr, kp) = Self.keys(defs["keyword"]!)
                #expect(Set(keyword.keys) == kr && kr == kp, "\(Set(keyword.keys).symmetricDifference(kr))")
            } else {
                sawSilence = true
                #expect(object["keyword"] is NSNull)
            }
            for segment in object["noise"] as! [[String: Any]] {
                let (sr, sp) = Self.keys(defs["segment"]!)
                #expect(Set(segment.keys) == sr && sr == sp)
            }
            #expect((object["audio_sha256"] as? String)?.count == 64)
        }
        #expect(sawKeyword && sawSilence)
    }
}
