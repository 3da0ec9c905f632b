import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// Options of one `tkd generate` run over one variant.
public struct GenerateOptions: Sendable {
    public var jobs = 1
    public var shard = Shard.whole
    /// Write manifests (with the SHA-256 the audio would have) but no audio.
    public var planOnly = false
    public var progress: ProgressMode = .auto
    public init() {}
}

/// What a run did.
public struct GenerateSummary: Sendable {
    public let dataset: URL
    /// Examples of this shard made in this run / found finished from an earlier run.
    public let made: Int
    public let reused: Int
    public let skipped: Int
    /// Set when this run completed the dataset (all shards done, manifests merged).
    public let info: DatasetInfo?
}

/// Generates one variant of a recipe into a dataset folder:
///
/// ```
/// DATASET/dataset.json  manifests/<split>.jsonl  audio/<split>/<id>.wav
/// ```
///
/// Deterministic (every draw keyed by seed, variant, split and id), shardable (`Shard`: example k of
/// the canonical order belongs to shard k mod N; the last shard to finish merges), resumable (a journal
/// of finished examples; finished audio is kept after its SHA-256 is checked).
public final class DatasetGenerator: @unchecked Sendable {
    public let recipe: Recipe
    public let variant: Recipe.VariantSpec
    public let corpusRoot: URL
    public let recipeDirectory: URL
    public let dataset: URL
    public let options: GenerateOptions

    public init(
        recipe: Recipe, variant: Recipe.VariantSpec, corpusRoot: URL, recipeDirectory: URL, dataset: URL,
        options: GenerateOptions
    ) {
        self.recipe = recipe
        self.variant = variant
        self.corpusRoot = corpusRoot
        self.recipeDirectory = recipeDirectory
        self.dataset = dataset
        self.options = options
    }

    /// Scans and checks the corpus against the recipe.
    public static func scanCorpus(_ root: URL, recipe: Recipe, jobs: Int) throws -> CorpusIndex {
        try scanCorpus(
            root, corpus: recipe.corpus, task: recipe.task, failOnBadClips: recipe.onBadInput == .fail, jobs: jobs)
    }

    /// Scans and checks a corpus against a recipe's `corpus` and `task` sections (Speech Commands and stream recipes):
    /// the split source, the release, every keyword present and, with `failOnBadClips`, no unusable clip of the
    /// task's words.
    public static func scanCorpus(
        _ root: URL, corpus: Recipe.CorpusSpec, task: Recipe.TaskSpec, failOnBadClips: Bool, jobs: Int
    ) throws -> CorpusIndex {
        var scanner = CorpusScanner()
        scanner.sampleRate = corpus.sampleRate
        scanner.jobs = jobs
        scanner.ignoreListFiles = corpus.splits == .hashRule
        let index = try scanner.scan(root)
        if corpus.splits == .listFiles && index.splitSource != .listFiles {
            throw GenerateError.splitListsMissing(corpus: root.path)
        }
        if index.version != corpus.version {
            throw GenerateError.corpusVersionMismatch(
                corpus: root.path, found: index.version.rawValue, expected: corpus.version.rawValue)
        }
        let words = Set(index.utterances.map(\.word))
        for w in task.words where !words.contains(w) {
            throw GenerateError.emptyWord(corpus: root.path, word: w)
        }
        if failOnBadClips, let bad = unusableClips(index, task: task).first {
            throw GenerateError.badCorpusFile(path: bad.path, kind: bad.kind.rawValue, detail: bad.detail)
        }
        return index
    }

    /// Clips of the task's words (keywords and unknown words) that the scan could not use: unreadable,
    /// empty, wrong rate or channel count, too long. They are left out of the index's utterances; the
    /// recipe's `on_bad_input` decides whether that is an error or a recorded skip.
    static func unusableClips(_ index: CorpusIndex, recipe: Recipe) -> [CorpusProblem] {
        unusableClips(index, task: recipe.task)
    }

    static func unusableClips(_ index: CorpusIndex, task: Recipe.TaskSpec) -> [CorpusProblem] {
        let words = Set(task.words + task.unknownWords)
        let kinds: Set<CorpusProblem.Kind> = [.unreadable, .empty, .wrongSampleRate, .wrongChannels, .tooLong]
        return index.problems.filter { p in
            kinds.contains(p.kind) && p.path.split(separator: "/").first.map { words.contains(String($0)) } == true
        }
    }

    /// Runs this shard; merges when every shard of the run has finished.
    public func run(index: CorpusIndex, hasher: SourceHasher = SourceHasher()) throws -> GenerateSummary {
        let examples = ExampleEnumerator.examples(recipe: recipe, index: index)
        try checkExistingDataset()
        try pinPlan()
        let pool = try NoisePool(
            recipe: recipe, corpusRoot: corpusRoot, corpusNoise: index.noise,
            recipeDirectory: recipeDirectory, hasher: hasher)
        let planner = ExamplePlanner(
            recipe: recipe, variant: variant, corpusRoot: corpusRoot, noise: pool, hasher: hasher)
        try removeStaleTemporaries()

        let journal = try WorkJournal<GenerationEntry>(url: WorkFiles.journal(dataset: dataset, shard: options.shard))
        var finished: [String: GenerationEntry] = [:]
        for e in try journal.load() {
            if let r = e.record { finished[r.id] = e } else if let s = e.skipped { finished[s.id] = e }
        }
        // A completed dataset's manifests count as finished work too (re-running is then a check).
        if let records = try? DatasetInfo.loadManifests(dataset) {
            for r in records where finished[r.id] == nil { finished[r.id] = GenerationEntry(record: r, skipped: nil) }
        }

        let mine = examples.indices.filter { options.shard.owns($0) }.map { examples[$0] }
        let reporter = ProgressReporter(label: "\(variant.name) examples", total: mine.count, mode: options.progress)
        let counter = Tally()
        let produced = EntryStore<GenerationEntry>()
        let dataset = self.dataset, planOnly = options.planOnly, format = recipe.output.format
        let policy = recipe.onBadInput
        let finishedWork = finished
        try WorkPool(jobs: options.jobs).forEach(mine.count) { i in
            defer { reporter.advance() }
            let spec = mine[i]
            if let done = finishedWork[spec.id], Self.stillValid(done, dataset: dataset, planOnly: planOnly) {
                counter.add(reused: 1)
                return
            }
            do {
                var rendered = try planner.plan(spec)
                rendered.record.audioSHA256 = try Self.writeAudio(
                    rendered, dataset: dataset, format: format, keep: !planOnly)
                let entry = GenerationEntry(record: rendered.record, skipped: nil)
                try journal.append(entry)
                produced.set(spec.id, entry)
                counter.add(made: 1)
            } catch let error as GenerateError where policy == .skip && Self.skippable(error) {
                let entry = GenerationEntry(
                    record: nil,
                    skipped: DatasetInfo.Skip(
                        id: spec.id, split: spec.split.rawValue,
                        reason: error.description))
                try journal.append(entry)
                produced.set(spec.id, entry)
                counter.add(skipped: 1)
            }
        }
        reporter.finish()
        try journal.sync()
        try AtomicFile.write(
            Data("\(mine.count)\n".utf8), to: WorkFiles.doneMarker(dataset: dataset, shard: options.shard),
            durable: true)
        // What this process knows: earlier work it found plus what it just made (newer wins).
        let known = finished.merging(produced.all) { _, new in new }
        let info = try mergeIfComplete(examples: examples, index: index, pool: pool, known: known)
        return GenerateSummary(
            dataset: dataset, made: counter.made, reused: counter.reused, skipped: counter.skipped, info: info)
    }

    /// A journal entry is reused when its audio (unless planning only) is on disk with the recorded hash.
    static func stillValid(_ entry: GenerationEntry, dataset: URL, planOnly: Bool) -> Bool {
        guard let r = entry.record else { return entry.skipped != nil }
        if planOnly { return true }
        guard let url = try? DatasetLayout(dataset).audio(r) else { return false }
        return (try? SHA256.hex(fileAt: url)) == r.audioSHA256
    }

    static func skippable(_ error: GenerateError) -> Bool {
        switch error {
        case .silentNoise, .silentKeyword, .unreadableKeyword: return true
        default: return false
        }
    }

    /// Encodes the audio in memory, hashes the bytes, and (unless planning only) writes them atomically.
    /// Returns the SHA-256 of the file's bytes.
    static func writeAudio(
        _ rendered: ExamplePlanner.Rendered, dataset: URL, format: AudioFormat, keep: Bool
    ) throws -> String {
        let url = try DatasetLayout(dataset).audio(rendered.record, existing: false)
        let encoded = try AudioWriter.encode(
            rendered.samples, sampleRate: rendered.record.sampleRate, format: format, path: url.path)
        if keep { try AtomicFile.write(encoded.data, to: url) }
        return SHA256.hex(encoded.data)
    }

    /// Refuses a folder holding a dataset of another recipe or variant, and a non-empty folder that is not a
    /// dataset (nor the unfinished work of one), naming what is there.
    func checkExistingDataset() throws {
        if let info = try WorkFiles.existingDataset(dataset), info.recipe != recipe || info.variant != variant {
            throw GenerateError.outputFromOtherRecipe(path: dataset.path)
        }
    }

    /// The recipe and variant of the unfinished work (`WorkFiles.pin`).
    func pinPlan() throws {
        struct Plan: Codable, Equatable {
            var recipe: Recipe
            var variant: Recipe.VariantSpec
        }
        try WorkFiles.pin(Plan(recipe: recipe, variant: variant), dataset: dataset)
    }

    /// Temporary files of a killed run never carry a final name; remove this host's dead processes' ones
    /// (another shard's, still running or on another machine, are left alone).
    func removeStaleTemporaries() throws {
        for split in Split.allCases { AtomicFile.removeStaleTemporaries(in: DatasetLayout(dataset).audioFolder(split)) }
    }

    /// When every shard of this run has its done marker: write the canonical manifests and dataset.json.
    /// - Parameter known: entries this process already holds (its own shard's and earlier manifests);
    ///   the other shards' journals are read from disk.
    func mergeIfComplete(
        examples: [ExampleSpec], index: CorpusIndex, pool: NoisePool,
        known: [String: GenerationEntry]
    ) throws -> DatasetInfo? {
        guard let lock = try WorkFiles.mergeLock(dataset: dataset, shard: options.shard) else { return nil }
        defer { lock.release() }
        var records: [String: ExampleRecord] = [:]
        var skips: [String: DatasetInfo.Skip] = [:]
        let entries =
            Array(known.values)
            + (try WorkFiles.otherShardsEntries(GenerationEntry.self, dataset: dataset, shard: options.shard))
        for e in entries {
            if let r = e.record { records[r.id] = r } else if let s = e.skipped { skips[s.id] = s }
        }
        let planned = Set(examples.map(\.id))
        let have = planned.filter { records[$0] != nil || skips[$0] != nil }.count
        guard have == planned.count else {
            throw GenerateError.incomplete(path: dataset.path, have: have, expected: planned.count)
        }
        let kept = examples.compactMap { records[$0.id] }
        for split in Split.allCases {
            let data = try ExampleRecord.manifestData(kept.filter { $0.split == split })
            try AtomicFile.write(data, to: DatasetLayout(dataset).manifest(split), durable: true)
        }
        let corpusSkips = Self.unusableClips(index, recipe: recipe).map {
            // The official lists agree with the hash rule (tested), so the rule names the split.
            DatasetInfo.Skip(
                id: $0.path, split: SplitRule.official.split(of: $0.path).rawValue,
                reason: "\($0.kind.rawValue): \($0.detail)")
        }
        let info = datasetInfo(
            records: kept, skipped: corpusSkips + examples.compactMap { skips[$0.id] }, index: index, pool: pool)
        try AtomicFile.write(try CanonicalJSON.encodePretty(info), to: DatasetLayout(dataset).info, durable: true)
        try? FileManager.default.removeItem(at: DatasetLayout(dataset).workFolder)
        return info
    }

    func datasetInfo(
        records: [ExampleRecord], skipped: [DatasetInfo.Skip], index: CorpusIndex, pool: NoisePool
    ) -> DatasetInfo {
        var counts: [String: [String: Int]] = [:]
        var totals: [String: Int] = [:]
        for split in Split.allCases {
            counts[split.rawValue] = [:]
            totals[split.rawValue] = 0
        }
        for r in records {
            counts[r.split.rawValue, default: [:]][r.label, default: 0] += 1
            totals[r.split.rawValue, default: 0] += 1
        }
        var sources = Set<String>()
        for r in records { if let k = r.keyword { sources.insert("\(k.source)\t\(k.sourceSHA256)\n") } }
        let keywordCount = sources.count
        for f in pool.files { sources.insert("\(f.source)\t\(f.sha256)\n") }
        var h = SHA256()
        for line in sources.sorted() { h.update(line) }
        return DatasetInfo(
            format: DatasetInfo.currentFormat, tool: "tkd \(TKDVersion.current)", name: recipe.name, variant: variant,
            recipe: recipe, labels: recipe.task.labelNames, sampleRate: recipe.corpus.sampleRate,
            audioRendered: !options.planOnly,
            corpus: .init(
                version: index.version.rawValue, splitSource: index.splitSource.rawValue, fingerprint: h.finalizeHex(),
                keywordSources: keywordCount),
            noiseFiles: pool.files, renderer: DatasetInfo.rendererDescription, counts: counts, totals: totals,
            skipped: skipped, noiseUsage: NoiseUsage.measure(records, sampleRate: recipe.corpus.sampleRate))
    }

    final class EntryStore<Entry: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: Entry] = [:]
        func set(_ id: String, _ e: Entry) {
            lock.lock()
            entries[id] = e
            lock.unlock()
        }
        var all: [String: Entry] {
            lock.lock()
            defer { lock.unlock() }
            return entries
        }
    }

    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var made = 0, reused = 0, skipped = 0
        func add(made m: Int = 0, reused r: Int = 0, skipped s: Int = 0) {
            lock.lock()
            made += m
            reused += r
            skipped += s
            lock.unlock()
        }
    }
}
