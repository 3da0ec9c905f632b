import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import Testing

@testable import Synthesis

/// Issue 16, point 2: a clip recipe (`kind: fsd50k`) — resampling, crop/pad and 1-s patches — recorded in the
/// manifests, the same bytes whatever `--jobs` or `--shard`, resumable, and hostile recipes refused.
@Suite("Clip datasets (FSD50K preprocessing)")
struct ClipDatasetTests {
    static func recipe(_ text: String) throws -> ClipRecipe {
        try ClipRecipe.parse(try YAMLValue.parse(text, file: "r.yaml"))
    }

    static let base = "version: 1\nkind: fsd50k\nname: t\nseed: 4\n"

    @Test("recipe defaults, and a wrong key, mode mix or hop named with its line")
    func recipeParsing() throws {
        let r = try Self.recipe(Self.base + "variants:\n  - name: p\n    clips: {mode: patches}\n")
        #expect(r.output.sampleRate == 16000 && r.output.resampleQuality == .sincBest && r.corpus.sampleRate == 44100)
        #expect(r.variants[0].clips == .init(mode: .patches, seconds: 1, hopSeconds: 0.5, crop: nil, pad: .repeat))
        let crop = try Self.recipe(Self.base + "variants:\n  - name: c\n    clips: {mode: crop_pad, seconds: 4}\n")
        #expect(crop.variants[0].clips.crop == .start && crop.variants[0].clips.pad == .zeros)
        let bad: [(String, String)] = [
            ("variants:\n  - name: c\n    clips: {mode: crop_pad}\n", "needs 'seconds'"),
            ("variants:\n  - name: f\n    clips: {mode: full, seconds: 2}\n", "does not apply to mode full"),
            (
                "variants:\n  - name: p\n    clips: {mode: patches, seconds: 1, hop_seconds: 2}\n",
                "longer than the patch"
            ),
            ("variants:\n  - name: p\n    clips: {mode: slices}\n", "'slices' is not one of"),
            ("output: {resample_quality: best}\nvariants:\n  - name: f\n    clips: {mode: full}\n", "sinc-best"),
            ("variants:\n  - name: ../x\n    clips: {mode: full}\n", "names a folder"),
        ]
        for (text, message) in bad {
            let e = #expect(throws: ConfigError.self) { try Self.recipe(Self.base + text) }
            #expect(
                e.map { "\($0)".contains(message) && "\($0)".contains("r.yaml") } == true, "\(String(describing: e))")
        }
        // Every converter name maps onto libsamplerate's.
        for q in ClipRecipe.ResampleQualityName.allCases { #expect(ResampleQuality(rawValue: q.rawValue) != nil) }
    }

    @Test("crop/pad and patch cuts: start, centre, seeded random; patches every hop plus one ending at the end")
    func cuts() {
        func h(
            _ mode: ClipRecipe.ClipHandling.Mode, _ s: Double?, hop: Double? = nil,
            crop: ClipRecipe.ClipHandling.Crop? = nil
        )
            -> ClipRecipe.ClipHandling
        { .init(mode: mode, seconds: s, hopSeconds: hop, crop: crop, pad: .zeros) }
        func cut(_ n: Int, _ handling: ClipRecipe.ClipHandling, id: String = "c") -> [ClipCutter.Excerpt] {
            ClipCutter.excerpts(clipSamples: n, handling: handling, rate: 10, seed: 1, variant: "v", clipID: id)
        }
        #expect(cut(25, h(.cropPad, 1, crop: .start)) == [.init(start: 0, count: 10, length: 10)])
        #expect(cut(25, h(.cropPad, 1, crop: .centre)) == [.init(start: 7, count: 10, length: 10)])
        #expect(cut(6, h(.cropPad, 1, crop: .centre)) == [.init(start: 0, count: 6, length: 10)])
        let random = (0..<40).map { cut(25, h(.cropPad, 1, crop: .random), id: "c\($0)")[0].start }
        #expect(random.allSatisfy { (0...15).contains($0) } && Set(random).count > 5)
        #expect(random == (0..<40).map { cut(25, h(.cropPad, 1, crop: .random), id: "c\($0)")[0].start })
        #expect(cut(10, h(.patches, 0.4, hop: 0.2)).map(\.start) == [0, 2, 4, 6])
        #expect(cut(11, h(.patches, 0.4, hop: 0.2)).map(\.start) == [0, 2, 4, 6, 7])
        #expect(cut(3, h(.patches, 0.4, hop: 0.2)) == [.init(start: 0, count: 3, length: 4)])
        #expect(cut(37, h(.full, nil)) == [.init(start: 0, count: 37, length: 37)])
        let clip: [Float] = [1, 2, 3, 4, 5]
        #expect(ClipCutter.render(clip, .init(start: 1, count: 3, length: 7), pad: .zeros) == [2, 3, 4, 0, 0, 0, 0])
        #expect(ClipCutter.render(clip, .init(start: 1, count: 3, length: 7), pad: .repeat) == [2, 3, 4, 2, 3, 4, 2])
        // Events move to the dataset rate, are cut to the excerpt and follow its repeats.
        let spans = [
            EventSpan(label: "a", onsetSample: 20, offsetSample: 60),
            EventSpan(label: "b", onsetSample: 90, offsetSample: 100),
        ]
        let e = ClipCutter.events(
            spans, sourceRate: 20, rate: 10, excerpt: .init(start: 5, count: 20, length: 50), pad: .repeat)
        #expect(
            e == [
                EventSpan(label: "a", onsetSample: 5, offsetSample: 20),
                EventSpan(label: "a", onsetSample: 25, offsetSample: 40),
                EventSpan(label: "a", onsetSample: 45, offsetSample: 50),
            ])
    }

    static func corpus(_ clips: Int = 24) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("clipds-\(UUID().uuidString)")
        var s = FSD50KStandIn(output: root.appendingPathComponent("corpus"))
        s.clips = clips
        s.seed = 5
        s.jobs = 2
        _ = try s.write()
        return root
    }

    static func generate(
        _ root: URL, _ recipe: ClipRecipe, variant: Int = 0, out: String, jobs: Int = 1, shard: Shard = .whole
    ) throws -> GenerateSummary {
        var o = GenerateOptions()
        o.jobs = jobs
        o.shard = shard
        o.progress = .quiet
        let corpus = root.appendingPathComponent("corpus")
        let index = try ClipDatasetGenerator.scanCorpus(corpus, recipe: recipe, jobs: jobs)
        return try ClipDatasetGenerator(
            recipe: recipe, variant: recipe.variants[variant], corpusRoot: corpus,
            dataset: root.appendingPathComponent(out), options: o
        ).run(index: index)
    }

    static func files(_ dir: URL) throws -> [String: String] {
        var out: [String: String] = [:]
        for case let url as URL in FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
        where !url.hasDirectoryPath {
            out[String(url.path.dropFirst(dir.path.count))] = SHA256.hex(try Data(contentsOf: url))
        }
        return out
    }

    @Test(
        "a stand-in becomes 16-kHz multi-label datasets: CSV labels, clips recorded, same bytes for any jobs/shards"
    )
    func generateDatasets() throws {
        let root = try Self.corpus()
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try Self.recipe(
            Self.base + """
                variants:
                  - name: crop
                    clips: {mode: crop_pad, seconds: 2, crop: random}
                  - name: patches
                    clips: {mode: patches, seconds: 1, hop_seconds: 0.5}
                """)
        let one = try Self.generate(root, r, out: "a", jobs: 1)
        #expect(one.made == 24 && one.info?.isMultiLabel == true && one.info?.sampleRate == 16000)
        _ = try Self.generate(root, r, out: "b", jobs: 2)
        #expect(try Self.files(root.appendingPathComponent("a")) == Self.files(root.appendingPathComponent("b")))
        // Two shards, the second finishing last, merge to the same bytes.
        let s0 = try Self.generate(root, r, out: "c", shard: Shard(index: 0, count: 2))
        #expect(s0.info == nil)
        _ = try Self.generate(root, r, out: "c", shard: Shard(index: 1, count: 2))
        #expect(try Self.files(root.appendingPathComponent("a")) == Self.files(root.appendingPathComponent("c")))

        let ds = root.appendingPathComponent("a")
        let records = try DatasetInfo.loadManifests(ds)
        let gt = try FSD50KGroundTruth.load(root: root.appendingPathComponent("corpus"))
        #expect(records.count == 24)
        for r in records {
            let clip = gt.clips.first { FSD50KGroundTruth.audioPath($0) == r.clip?.source }!
            #expect(r.labelIndices == Array(Set(clip.classes)).sorted())
            #expect(r.numSamples == 32000 && r.clip!.numSamples <= 32000)
            #expect(r.split == (clip.subset == .eval ? .testing : clip.subset == .val ? .validation : .training))
            #expect(r.events != nil)
        }
        // Patches: every clip cut into 1-s patches sharing its clip id, numbered 0..<patches.
        let p = try Self.generate(root, r, variant: 1, out: "p", jobs: 2)
        let patches = try DatasetInfo.loadManifests(root.appendingPathComponent("p"))
        #expect(p.info!.totals.values.reduce(0, +) == patches.count && patches.count > 24)
        for (_, group) in Dictionary(grouping: patches, by: { $0.clip!.id }) {
            #expect(group.map(\.clip!.patch).sorted() == Array(0..<group[0].clip!.patches))
            #expect(group.allSatisfy { $0.numSamples == 16000 && $0.labels == group[0].labels })
        }
    }

    @Test(
        "an interrupted run resumes: a lost example file is made again with the same bytes; another recipe is refused")
    func resume() throws {
        let root = try Self.corpus(12)
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try Self.recipe(Self.base + "variants:\n  - name: c\n    clips: {mode: crop_pad, seconds: 1}\n")
        _ = try Self.generate(root, r, out: "a")
        let ds = root.appendingPathComponent("a")
        let before = try Self.files(ds)
        let victim = try DatasetInfo.loadManifests(ds)[3]
        try FileManager.default.removeItem(at: ds.appendingPathComponent(victim.audio))
        // A finished dataset's manifests are its record of finished clips: only the lost one is made again.
        let again = try Self.generate(root, r, out: "a")
        #expect(again.made == 1 && again.reused == 11)
        #expect(try Self.files(ds) == before)
        // Killed after 5 clips (their journal lines and audio written, nothing merged): the rest is made, the
        // bytes are the same.
        let records = try DatasetInfo.loadManifests(ds)
        try FileManager.default.removeItem(at: ds.appendingPathComponent("manifests"))
        try FileManager.default.removeItem(at: ds.appendingPathComponent("dataset.json"))
        let journal = try WorkJournal<ClipEntry>(url: WorkFiles.journal(dataset: ds, shard: .whole))
        for (i, r) in records.enumerated() {
            if i < 5 {
                try journal.append(ClipEntry(clip: r.clip!.source, records: [r], sourceSHA256: r.clip!.sourceSHA256))
            } else {
                try FileManager.default.removeItem(at: ds.appendingPathComponent(r.audio))
            }
        }
        try journal.sync()
        let resumed = try Self.generate(root, r, out: "a")
        #expect(resumed.made == 7 && resumed.reused == 5)
        #expect(try Self.files(ds) == before)
        let other = try Self.recipe(Self.base + "variants:\n  - name: c\n    clips: {mode: crop_pad, seconds: 2}\n")
        #expect(throws: GenerateError.outputFromOtherRecipe(path: ds.path)) { try Self.generate(root, other, out: "a") }
        // Shards of two recipes never meet in one folder: the second plan is refused before any work.
        _ = try Self.generate(root, r, out: "m", shard: Shard(index: 0, count: 2))
        let m = root.appendingPathComponent("m")
        #expect(throws: GenerateError.outputFromOtherRecipe(path: m.path)) {
            try Self.generate(root, other, out: "m", shard: Shard(index: 1, count: 2))
        }
    }

    @Test("a corrupt clip: on_bad_input fail names it; skip leaves it out and records why in dataset.json")
    func badClip() throws {
        let root = try Self.corpus(12)
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = root.appendingPathComponent("corpus")
        let gt = try FSD50KGroundTruth.load(root: corpus)
        let victim = FSD50KGroundTruth.audioPath(gt.clips[2])
        try Data("not a wav file".utf8).write(to: corpus.appendingPathComponent(victim))
        let text = Self.base + "variants:\n  - name: c\n    clips: {mode: crop_pad, seconds: 1}\n"
        let e = #expect(throws: GenerateError.self) { try Self.generate(root, try Self.recipe(text), out: "f") }
        #expect(e.map { "\($0)".contains(victim) } == true, "\(String(describing: e))")
        let skip = try Self.generate(root, try Self.recipe(text + "on_bad_input: skip\n"), out: "s")
        #expect(skip.info?.totals.values.reduce(0, +) == 11)
        #expect(skip.info?.skipped.contains { $0.id == victim && $0.reason.hasPrefix("unreadable") } == true)
    }
}
