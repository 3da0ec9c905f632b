import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// A clip of the corpus turned into examples, or why it was left out (a line of the work journal).
struct ClipEntry: Codable, Sendable {
    var clip: String
    var records: [ExampleRecord]
    var sourceSHA256: String?
    var skipped: DatasetInfo.Skip? = nil
}

/// `tkd generate` for a clip recipe (`kind: fsd50k`): every clip of the corpus, resampled to the output rate
/// with libsamplerate (`output.resample_quality`) and cut by the variant's clip handling (`ClipCutter`), becomes
/// one or more examples of a multi-label dataset in the same folder layout as a Speech Commands one:
///
/// ```
/// DATASET/dataset.json  manifests/<split>.jsonl  audio/<split>/<id>.wav
/// ```
///
/// FSD50K's train/val/eval become training/validation/testing. Example ids are `dev-<fname>` and
/// `eval-<fname>` (patches: `…-p<k>`); every record carries the clip's label set, where it was cut from
/// (`clip`) and, for the stand-in, its events. Deterministic whatever `--jobs` or `--shard` (clip k of the
/// sorted clip list belongs to shard k mod N; the last shard to finish merges), resumable (a journal of
/// finished clips; audio is reused after its SHA-256 is checked).
public final class ClipDatasetGenerator: @unchecked Sendable {
    public let recipe: ClipRecipe
    public let variant: ClipRecipe.Variant
    public let corpusRoot: URL
    public let dataset: URL
    public let options: GenerateOptions

    public init(
        recipe: ClipRecipe, variant: ClipRecipe.Variant, corpusRoot: URL, dataset: URL, options: GenerateOptions
    ) {
        self.recipe = recipe
        self.variant = variant
        self.corpusRoot = corpusRoot
        self.dataset = dataset
        self.options = options
    }

    /// Scans the corpus (`FSD50KScanner` at the recipe's corpus rate) and, under `on_bad_input: fail`, refuses
    /// one whose listed clips are absent or out of format.
    public static func scanCorpus(_ root: URL, recipe: ClipRecipe, jobs: Int) throws -> FSD50KIndex {
        var scanner = FSD50KScanner()
        scanner.sampleRate = recipe.corpus.sampleRate
        scanner.jobs = jobs
        let index = try scanner.scan(root)
        if recipe.onBadInput == .fail, let bad = index.problems.first(where: { $0.kind != .unexpectedName }) {
            throw GenerateError.badCorpusFile(path: bad.path, kind: bad.kind.rawValue, detail: bad.detail)
        }
        return index
    }

    /// The clips the recipe uses, sorted by path: every readable clip, or the first `max_clips_per_split` of
    /// each split in a seeded order (SHA-256 of seed and path).
    func selectedClips(_ index: FSD50KIndex) -> [FSD50KClipInfo] {
        guard let cap = recipe.corpus.maxClipsPerSplit else { return index.clips }
        func key(_ c: FSD50KClipInfo) -> String { SHA256.hex(Data("\(recipe.seed)\t\(c.path)".utf8)) }
        return FSD50KGroundTruth.Subset.allCases.flatMap { subset in
            index.clips.filter { $0.subset == subset }.sorted { key($0) < key($1) }.prefix(cap)
        }.sorted { $0.path < $1.path }
    }

    static func split(_ subset: FSD50KGroundTruth.Subset) -> Split {
        switch subset {
        case .train: return .training
        case .val: return .validation
        case .eval: return .testing
        }
    }

    /// `dev-<fname>` or `eval-<fname>`.
    static func clipID(_ clip: FSD50KClipInfo) -> String {
        let fname = (clip.path as NSString).lastPathComponent.replacingOccurrences(of: ".wav", with: "")
        return "\(clip.subset == .eval ? "eval" : "dev")-\(fname)"
    }

    /// The stand-in's `events.json` (absent for the real corpus), checked against the clips it describes.
    func loadEvents(_ index: FSD50KIndex) throws -> [String: [EventSpan]] {
        let url = corpusRoot.appendingPathComponent("\(FSD50KGroundTruth.folder)/events.json")
        guard let data = try RegularFile.contents(url) else { return [:] }
        let file: StandInEvents
        do { file = try JSONDecoder().decode(StandInEvents.self, from: data) } catch {
            throw DatasetFormatError.invalidField(
                path: url.path, field: "events", detail: "does not decode (\(error)); expected the stand-in's events")
        }
        let labels = Set(index.vocabulary.map(\.label))
        let frames = Dictionary(uniqueKeysWithValues: index.clips.map { ($0.path, $0.frames) })
        var out: [String: [EventSpan]] = [:]
        for (fname, spans) in file.events {
            let path = "\(FSD50KGroundTruth.audioFolder(.train))/\(fname).wav"
            let evalPath = "\(FSD50KGroundTruth.audioFolder(.eval))/\(fname).wav"
            guard let n = frames[path] ?? frames[evalPath] else { continue }
            for (i, s) in spans.enumerated()
            where !labels.contains(s.label) || s.onsetSample < 0 || s.onsetSample >= s.offsetSample
                || s.offsetSample > n
            {
                throw DatasetFormatError.invalidField(
                    path: url.path, field: "events.\(fname)[\(i)]",
                    detail: "is '\(s.label)' [\(s.onsetSample), \(s.offsetSample)); expected a vocabulary label and "
                        + "a span inside the clip's \(n) samples")
            }
            out[fname] = spans.map {
                EventSpan(label: $0.label, onsetSample: $0.onsetSample, offsetSample: $0.offsetSample)
            }
        }
        return out
    }

    /// Runs this shard; merges when every shard of the run has finished.
    public func run(index: FSD50KIndex) throws -> GenerateSummary {
        guard !options.planOnly else {
            throw GenerateError.unsupported(
                what: "--plan-only", reason: "a clip recipe's audio is the resampled clip, written as it is made")
        }
        try checkExistingDataset()
        try pinPlan()
        let clips = selectedClips(index)
        let events = try loadEvents(index)
        for split in Split.allCases { AtomicFile.removeStaleTemporaries(in: DatasetLayout(dataset).audioFolder(split)) }
        let journal = try WorkJournal<ClipEntry>(url: WorkFiles.journal(dataset: dataset, shard: options.shard))
        var finished: [String: ClipEntry] = [:]
        for e in try journal.load() { finished[e.clip] = e }
        // A completed dataset's manifests count as finished clips too (re-running is then a check).
        if let records = try? DatasetInfo.loadManifests(dataset) {
            for (source, group) in Dictionary(grouping: records, by: { $0.clip?.source ?? "" })
            where finished[source] == nil && !source.isEmpty {
                finished[source] = ClipEntry(
                    clip: source, records: group.sorted { $0.id < $1.id }, sourceSHA256: group[0].clip?.sourceSHA256,
                    skipped: nil)
            }
        }
        let mine = clips.indices.filter { options.shard.owns($0) }.map { clips[$0] }
        let reporter = ProgressReporter(label: "\(variant.name) clips", total: mine.count, mode: options.progress)
        let counter = DatasetGenerator.Tally()
        let produced = DatasetGenerator.EntryStore<ClipEntry>()
        let done = finished
        try WorkPool(jobs: options.jobs).forEach(mine.count) { i in
            defer { reporter.advance() }
            let clip = mine[i]
            if let e = done[clip.path], self.stillValid(e) {
                counter.add(reused: 1)
                return
            }
            let entry: ClipEntry
            do {
                entry = try self.make(clip, index: index, events: events)
                counter.add(made: 1)
            } catch let error as GenerateError where self.recipe.onBadInput == .skip && Self.skippable(error) {
                entry = ClipEntry(
                    clip: clip.path, records: [], sourceSHA256: nil,
                    skipped: DatasetInfo.Skip(
                        id: Self.clipID(clip), split: Self.split(clip.subset).rawValue, reason: "\(error)"))
                counter.add(skipped: 1)
            }
            try journal.append(entry)
            produced.set(clip.path, entry)
        }
        reporter.finish()
        try journal.sync()
        try AtomicFile.write(
            Data("\(mine.count)\n".utf8), to: WorkFiles.doneMarker(dataset: dataset, shard: options.shard),
            durable: true)
        let known = finished.merging(produced.all) { _, new in new }
        let info = try mergeIfComplete(clips: clips, index: index, known: known)
        return GenerateSummary(
            dataset: dataset, made: counter.made, reused: counter.reused, skipped: counter.skipped, info: info)
    }

    /// Under `on_bad_input: skip`, only a source clip that cannot be used is skipped; a failure to write the
    /// dataset stops the run.
    static func skippable(_ error: GenerateError) -> Bool {
        if case .badCorpusFile = error { return true }
        return false
    }

    /// A finished clip is reused when each of its examples' audio is on disk with the recorded hash.
    func stillValid(_ e: ClipEntry) -> Bool {
        if e.skipped != nil { return true }
        return !e.records.isEmpty
            && e.records.allSatisfy { r in
                guard let url = try? DatasetLayout(dataset).audio(r) else { return false }
                return (try? SHA256.hex(fileAt: url)) == r.audioSHA256
            }
    }

    /// Reads, resamples and cuts one clip; writes its examples' audio.
    func make(_ clip: FSD50KClipInfo, index: FSD50KIndex, events: [String: [EventSpan]]) throws -> ClipEntry {
        let url = try ContainedPath.resolve(clip.path, under: corpusRoot, field: "clip", regularFile: true)
        let sha: String, audio: AudioBuffer
        do {
            sha = try SHA256.hex(fileAt: url)
            audio = try AudioReader.read(url, options: AudioReadOptions(sampleRate: nil))
        } catch {
            throw GenerateError.badCorpusFile(path: clip.path, kind: "unreadable", detail: "\(error)")
        }
        guard audio.sampleRate == recipe.corpus.sampleRate else {
            throw GenerateError.badCorpusFile(
                path: clip.path, kind: "wrong_sample_rate",
                detail: "\(audio.sampleRate) Hz; the recipe's corpus.sample_rate is \(recipe.corpus.sampleRate)")
        }
        let rate = recipe.output.sampleRate
        let resampled = try ClipCutter.resample(
            audio.samples, from: audio.sampleRate, to: rate, quality: recipe.output.resampleQuality)
        let id = Self.clipID(clip)
        let fname = String(id.drop { $0 != "-" }.dropFirst())
        let cuts = ClipCutter.excerpts(
            clipSamples: resampled.count, handling: variant.clips, rate: rate, seed: recipe.seed,
            variant: variant.name, clipID: id)
        let pad = variant.clips.pad ?? .zeros
        let classes = Array(Set(clip.classes)).sorted()
        let names = classes.map { index.vocabulary[$0].label }
        let split = Self.split(clip.subset)
        var records: [ExampleRecord] = []
        for (k, cut) in cuts.enumerated() {
            let exampleID = variant.clips.mode == .patches ? String(format: "%@-p%03d", id, k) : id
            let samples = ClipCutter.render(resampled, cut, pad: pad)
            let audioPath = DatasetLayout.audioPath(split: split, id: exampleID, format: recipe.output.format)
            let out = try ContainedPath.resolve(audioPath, under: dataset, field: "audio")
            let encoded = try AudioWriter.encode(
                samples, sampleRate: rate, format: recipe.output.format, path: out.path)
            try AtomicFile.write(encoded.data, to: out)
            let spans = events[fname].map {
                ClipCutter.events($0, sourceRate: audio.sampleRate, rate: rate, excerpt: cut, pad: pad)
            }
            records.append(
                ExampleRecord(
                    id: exampleID, split: split, label: names[0], labelIndex: classes[0], sampleRate: rate,
                    numSamples: cut.length, audio: audioPath, audioSHA256: SHA256.hex(encoded.data), keyword: nil,
                    noise: [], snrDB: nil, snrDBAchieved: nil, snrDefinition: nil, scale: 1, labels: names,
                    labelIndices: classes,
                    clip: ClipExcerpt(
                        id: id, source: clip.path, sourceSHA256: sha, sourceSampleRate: audio.sampleRate,
                        sourceNumSamples: audio.samples.count, clipNumSamples: resampled.count, startSample: cut.start,
                        numSamples: cut.count, patch: variant.clips.mode == .patches ? k : 0,
                        patches: variant.clips.mode == .patches ? cuts.count : 1),
                    events: spans))
        }
        return ClipEntry(clip: clip.path, records: records, sourceSHA256: sha, skipped: nil)
    }

    /// Refuses a folder holding a dataset of another recipe or variant, and a non-empty folder that is not one.
    func checkExistingDataset() throws {
        if let info = try WorkFiles.existingDataset(dataset), info.clipRecipe != recipe || info.clipVariant != variant {
            throw GenerateError.outputFromOtherRecipe(path: dataset.path)
        }
    }

    /// The clip recipe and variant of the unfinished work (`WorkFiles.pin`).
    func pinPlan() throws {
        struct Plan: Codable, Equatable {
            var clipRecipe: ClipRecipe
            var clipVariant: ClipRecipe.Variant
        }
        try WorkFiles.pin(Plan(clipRecipe: recipe, clipVariant: variant), dataset: dataset)
    }

    /// When every shard has its done marker: the canonical manifests and dataset.json.
    func mergeIfComplete(
        clips: [FSD50KClipInfo], index: FSD50KIndex, known: [String: ClipEntry]
    ) throws -> DatasetInfo? {
        guard let lock = try WorkFiles.mergeLock(dataset: dataset, shard: options.shard) else { return nil }
        defer { lock.release() }
        var entries = known
        for e in try WorkFiles.otherShardsEntries(ClipEntry.self, dataset: dataset, shard: options.shard) {
            entries[e.clip] = e
        }
        let have = clips.filter { entries[$0.path] != nil }.count
        guard have == clips.count else {
            throw GenerateError.incomplete(path: dataset.path, have: have, expected: clips.count)
        }
        let used = clips.map { entries[$0.path]! }
        let records = used.flatMap(\.records)
        for split in Split.allCases {
            let data = try ExampleRecord.manifestData(records.filter { $0.split == split })
            try AtomicFile.write(data, to: DatasetLayout(dataset).manifest(split), durable: true)
        }
        let corpusSkips = index.problems.filter { $0.kind != .unexpectedName }.map {
            DatasetInfo.Skip(id: $0.path, split: "", reason: "\($0.kind.rawValue): \($0.detail)")
        }
        let info = datasetInfo(
            records: records, sources: used, skipped: corpusSkips + used.compactMap(\.skipped), index: index)
        try AtomicFile.write(try CanonicalJSON.encodePretty(info), to: DatasetLayout(dataset).info, durable: true)
        try? FileManager.default.removeItem(at: DatasetLayout(dataset).workFolder)
        return info
    }

    /// How a clip dataset's examples are made (dataset.json `renderer`).
    public static let description: [String: String] = [
        "resample":
            "libsamplerate (output.resample_quality) from the clip's rate to sample_rate, output length "
            + "round(n * to / from) (halves up; a short flush repeats the last sample)",
        "excerpt":
            "resampled clip[clip.start_sample ..< clip.start_sample + clip.num_samples], then padded to num_samples "
            + "with zeros or by repeating the excerpt (clip_variant.clips.pad)",
        "quantisation": "round half to even of x * 2^(bits-1), saturated (PCM16: x * 32768)",
        "labels": "the clip's labels from the corpus's ground truth, in vocabulary order; label = labels[0]",
    ]

    func datasetInfo(
        records: [ExampleRecord], sources: [ClipEntry], skipped: [DatasetInfo.Skip], index: FSD50KIndex
    ) -> DatasetInfo {
        var counts: [String: [String: Int]] = [:], totals: [String: Int] = [:]
        for split in Split.allCases {
            counts[split.rawValue] = [:]
            totals[split.rawValue] = 0
        }
        for r in records {
            for l in r.labels ?? [r.label] { counts[r.split.rawValue, default: [:]][l, default: 0] += 1 }
            totals[r.split.rawValue, default: 0] += 1
        }
        var h = SHA256()
        let lines = sources.compactMap { e in e.sourceSHA256.map { "\(e.clip)\t\($0)\n" } }
        for line in lines.sorted() { h.update(line) }
        return DatasetInfo(
            name: recipe.name, variant: nil, recipe: nil, labels: index.vocabulary.map(\.label),
            sampleRate: recipe.output.sampleRate, audioRendered: true,
            corpus: .init(
                version: recipe.kind.rawValue, splitSource: "ground_truth", fingerprint: h.finalizeHex(),
                keywordSources: lines.count),
            noiseFiles: [], renderer: Self.description, counts: counts, totals: totals, skipped: skipped,
            clipRecipe: recipe, clipVariant: variant, task: .multiLabel)
    }
}
