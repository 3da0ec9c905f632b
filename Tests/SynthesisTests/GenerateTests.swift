import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Synthesis

@Suite("Generate")
struct GenerateTests {
    @Test("--jobs 1, --jobs 2 and --shard 0/2 + 1/2 give byte-identical datasets", arguments: ["2s", "7s"])
    func determinism(variant: String) throws {
        let reference = try GenerateFixture.reference(variant)
        let corpus = try SharedDemoCorpus.url()
        let recipe = try GenerateFixture.recipe()
        let serial = try GenerateFixture.generate(recipe: recipe, corpus: corpus, variant: variant, jobs: 1)
        let sharded = TestFolder.path("sharded")
        for i in [1, 0] {  // order does not matter; the last to finish merges
            _ = try GenerateFixture.generate(
                recipe: recipe, corpus: corpus, variant: variant, shard: Shard(index: i, count: 2), out: sharded)
        }
        defer { for d in [serial, sharded] { try? FileManager.default.removeItem(at: d) } }
        let want = try TestFolder.digests(reference)
        #expect(want.keys.contains("manifests/training.jsonl") && want.keys.contains("dataset.json"))
        #expect(try TestFolder.digests(serial) == want)
        #expect(try TestFolder.digests(sharded) == want)
    }

    @Test("manifests are canonical; every record agrees with its audio, its split's noise regions and dataset.json")
    func manifests() throws {
        for variant in ["2s", "7s"] {
            let dir = try GenerateFixture.reference(variant)
            let info = try DatasetInfo.load(dir)
            #expect(
                info.labels == [
                    "_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
                ])
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
                        #expect(
                            k.offsetSample == k.onsetSample + 16000 && k.onsetSample >= 0
                                && k.offsetSample <= r.numSamples)
                        #expect(
                            k.onsetSample <= k.speechOnsetSample && k.speechOnsetSample < k.speechOffsetSample
                                && k.speechOffsetSample <= k.offsetSample)
                        #expect(SplitRule.official.split(of: k.source) == split)
                        #expect(r.label == (Recipe.speechCommands12.contains(k.word) ? k.word : "_unknown_"))
                        #expect(
                            abs(r.snrDB! - r.snrDBAchieved!) < 1e-3,
                            "\(r.id): target \(r.snrDB!) achieved \(r.snrDBAchieved!)")
                        #expect((-5...10).contains(r.snrDB!))
                    } else {
                        #expect(r.label == "_silence_" && r.snrDB == nil && r.snrDBAchieved == nil)
                    }
                    #expect(r.scale > 0 && r.scale <= 1)
                    // Noise segments: inside the split's region, contiguous with overlaps equal to the fades, covering
                    // the example.
                    var end = 0
                    for (i, s) in r.noise.enumerated() {
                        let file = try #require(info.noiseFiles.first { $0.source == s.source })
                        let region = file.region(split)
                        #expect(
                            region.contains(s.sourceStartSample)
                                && s.sourceStartSample + s.numSamples <= region.upperBound)
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
        let planned = try GenerateFixture.generate(
            recipe: try GenerateFixture.recipe(), corpus: corpus, variant: "7s", planOnly: true)
        defer { try? FileManager.default.removeItem(at: planned) }
        #expect(!FileManager.default.fileExists(atPath: planned.appendingPathComponent("audio").path))
        #expect(try DatasetInfo.load(planned).audioRendered == false)
        #expect(
            try Data(contentsOf: planned.appendingPathComponent("manifests/testing.jsonl"))
                == Data(contentsOf: reference.appendingPathComponent("manifests/testing.jsonl")))

        var renderer = DatasetRenderer(dataset: planned, corpusRoot: corpus, noiseBase: corpus)
        renderer.jobs = 2
        renderer.progress = .quiet
        let summary = try renderer.run()
        #expect(summary.rendered > 0 && summary.alreadyPresent == 0)
        #expect(try TestFolder.digests(planned) == TestFolder.digests(reference))

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

    @Test("an interrupted run (journal with a torn last line, stale temporaries, missing files) resumes identically")
    func resume() throws {
        let reference = try GenerateFixture.reference("2s")
        let recipe = try GenerateFixture.recipe()
        let corpus = try SharedDemoCorpus.url()
        // Simulate the state a kill leaves: half the work journalled, the last line cut, a partial file.
        let dir = TestFolder.path("resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let records = try DatasetInfo.loadManifests(reference).sorted { $0.id < $1.id }
        let journalURL = dir.appendingPathComponent(".tkd-work/journal-0-of-1.jsonl")
        var journal = Data()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for r in records.prefix(records.count / 2) {
            journal.append(try encoder.encode(["record": r]))
            journal.append(0x0A)
            let target = dir.appendingPathComponent(r.audio)
            try AtomicFile.createParent(of: target)
            try FileManager.default.copyItem(at: reference.appendingPathComponent(r.audio), to: target)
        }
        journal.append(try encoder.encode(["record": records[records.count / 2]]).prefix(40))
        try AtomicFile.write(journal, to: journalURL)
        // A temporary of a killed run: named as AtomicFile names them, by a process of this host that has exited.
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let final = dir.appendingPathComponent(records.last!.audio)
        let stale = final.deletingLastPathComponent().appendingPathComponent(
            ".\(final.lastPathComponent).partial-\(ProcessOwner.current.host)-\(exited.processIdentifier)-1")
        try AtomicFile.createParent(of: stale)
        try Data("partial".utf8).write(to: stale)
        // One journalled file was damaged after it was written: it must be re-made, not trusted.
        try Data("damaged".utf8).write(to: dir.appendingPathComponent(records[0].audio))

        var o = GenerateOptions()
        o.progress = .quiet
        o.jobs = 2
        let index = try DatasetGenerator.scanCorpus(corpus, recipe: recipe, jobs: 2)
        let summary = try DatasetGenerator(
            recipe: recipe, variant: recipe.variant("2s")!, corpusRoot: corpus,
            recipeDirectory: corpus, dataset: dir, options: o
        ).run(index: index)
        #expect(summary.reused == records.count / 2 - 1)
        #expect(summary.made == records.count - summary.reused)
        #expect(try TestFolder.digests(dir) == TestFolder.digests(reference))
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        // Running again on the finished dataset verifies and reuses everything.
        let again = try DatasetGenerator(
            recipe: recipe, variant: recipe.variant("2s")!, corpusRoot: corpus,
            recipeDirectory: corpus, dataset: dir, options: o
        ).run(index: index)
        #expect(again.made == 0 && again.reused == records.count)
    }

    @Test("a noise folder outside the corpus at another rate is resampled, recorded by its recipe path, re-renders")
    func extraNoiseFolder() throws {
        let base = TestFolder.path("extra-noise")
        defer { try? FileManager.default.removeItem(at: base) }
        let noise = NoiseSynthesizer.make(.pink, sampleRate: 22050, seed: 3)
        try AudioWriter.write(noise, sampleRate: 22050, to: base.appendingPathComponent("noises/sub/pink22k.wav"))
        let recipe = try GenerateFixture.recipe(noise: "sources: [noises]")
        let corpus = try SharedDemoCorpus.url()
        let direct = try GenerateFixture.generate(recipe: recipe, corpus: corpus, variant: "2s", recipeDirectory: base)
        defer { try? FileManager.default.removeItem(at: direct) }
        let info = try DatasetInfo.load(direct)
        #expect(info.noiseFiles.map(\.source) == ["noises/sub/pink22k.wav"])
        #expect(info.noiseFiles.first?.nativeSampleRate == 22050)
        #expect(
            info.noiseFiles.first?.numSamples
                == Resampler.outputLength(inputFrames: noise.count, from: 22050, to: 16000))
        #expect(
            try DatasetInfo.loadManifests(direct).allSatisfy {
                $0.noise.allSatisfy { $0.source == "noises/sub/pink22k.wav" }
            })

        let planned = try GenerateFixture.generate(
            recipe: recipe, corpus: corpus, variant: "2s", planOnly: true, recipeDirectory: base)
        defer { try? FileManager.default.removeItem(at: planned) }
        var renderer = DatasetRenderer(dataset: planned, corpusRoot: corpus, noiseBase: base)
        renderer.progress = .quiet
        try renderer.run()
        #expect(try TestFolder.digests(planned) == TestFolder.digests(direct))
    }

    @Test("unfinished shards of another recipe are not mixed in: the second plan is refused")
    func mixedShards() throws {
        let corpus = try SharedDemoCorpus.url()
        let dir = TestFolder.path("mixed")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try GenerateFixture.generate(
            recipe: try GenerateFixture.recipe(), corpus: corpus, variant: "2s",
            shard: Shard(index: 0, count: 2), out: dir)
        var other = try GenerateFixture.recipe()
        other.level.maxPeak = 0.5
        #expect(throws: GenerateError.outputFromOtherRecipe(path: dir.path)) {
            _ = try GenerateFixture.generate(
                recipe: other, corpus: corpus, variant: "2s", shard: Shard(index: 1, count: 2), out: dir)
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
            _ = try DatasetGenerator(
                recipe: changed, variant: changed.variant("2s")!, corpusRoot: try SharedDemoCorpus.url(),
                recipeDirectory: reference, dataset: reference, options: o
            ).run(index: index)
        }
    }
}
