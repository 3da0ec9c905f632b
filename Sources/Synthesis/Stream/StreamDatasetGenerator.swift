import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// A finished stream of `tkd generate` (a stream recipe).
struct StreamEntry: Codable, Sendable {
    var record: StreamRecord
}

/// Generates a stream recipe into a dataset folder of the usual layout (`dataset.json`, `manifests/<split>.jsonl`
/// of `StreamRecord`s, `audio/<split>/<id>.wav`), with `DatasetGenerator`'s guarantees: deterministic (every draw
/// keyed by seed, group, split and ordinal), shardable (stream k of the canonical order belongs to shard k mod N;
/// the last shard to finish merges) and resumable (a journal of finished streams whose audio is checked by hash).
public final class StreamDatasetGenerator: @unchecked Sendable {
    public let recipe: StreamRecipe
    public let corpusRoot: URL
    public let recipeDirectory: URL
    public let dataset: URL
    public let options: GenerateOptions

    public init(recipe: StreamRecipe, corpusRoot: URL, recipeDirectory: URL, dataset: URL, options: GenerateOptions) {
        self.recipe = recipe
        self.corpusRoot = corpusRoot
        self.recipeDirectory = recipeDirectory
        self.dataset = dataset
        self.options = options
    }

    /// Scans and checks the corpus against the recipe, as for a Speech Commands recipe (a stream recipe stops on
    /// bad input).
    public static func scanCorpus(_ root: URL, recipe: StreamRecipe, jobs: Int) throws -> CorpusIndex {
        try DatasetGenerator.scanCorpus(
            root, corpus: recipe.corpus, task: recipe.task, failOnBadClips: true, jobs: jobs)
    }

    /// Runs this shard; merges when every shard of the run has finished.
    public func run(index: CorpusIndex, hasher: SourceHasher = SourceHasher()) throws -> GenerateSummary {
        guard !options.planOnly else {
            throw GenerateError.unsupported(what: "--plan-only", reason: "a stream recipe renders its audio at once")
        }
        let streams = try StreamEnumerator.streams(recipe: recipe, index: index)
        if let info = try WorkFiles.existingDataset(dataset), info.streamRecipe != recipe {
            throw GenerateError.outputFromOtherRecipe(path: dataset.path)
        }
        try WorkFiles.pin(recipe, dataset: dataset)
        let pool = try NoisePool(
            noise: recipe.noise, sampleRate: recipe.corpus.sampleRate, corpusRoot: corpusRoot,
            corpusNoise: index.noise, recipeDirectory: recipeDirectory, hasher: hasher)
        let planner = StreamPlanner(recipe: recipe, corpusRoot: corpusRoot, noise: pool, hasher: hasher)
        for split in Split.allCases { AtomicFile.removeStaleTemporaries(in: DatasetLayout(dataset).audioFolder(split)) }

        let journal = try WorkJournal<StreamEntry>(url: WorkFiles.journal(dataset: dataset, shard: options.shard))
        var finished: [String: StreamEntry] = [:]
        for e in try journal.load() { finished[e.record.id] = e }
        if DatasetInfo.isStreamDataset(dataset), let records = try? StreamRecord.loadAll(dataset: dataset) {
            for r in records where finished[r.id] == nil { finished[r.id] = StreamEntry(record: r) }
        }

        let mine = streams.indices.filter { options.shard.owns($0) }.map { streams[$0] }
        let reporter = ProgressReporter(label: "streams", total: mine.count, mode: options.progress)
        let made = DatasetGenerator.Tally()
        let produced = DatasetGenerator.EntryStore<StreamEntry>()
        let dataset = self.dataset, format = recipe.output.format, finishedWork = finished
        try WorkPool(jobs: options.jobs).forEach(mine.count) { i in
            defer { reporter.advance() }
            let spec = mine[i]
            if let done = finishedWork[spec.id], let url = try? DatasetLayout(dataset).audio(done.record),
                (try? SHA256.hex(fileAt: url)) == done.record.audioSHA256
            {
                made.add(reused: 1)
                return
            }
            var rendered = try planner.plan(spec)
            let url = try DatasetLayout(dataset).audio(rendered.record, existing: false)
            let encoded = try AudioWriter.encode(
                rendered.samples, sampleRate: rendered.record.sampleRate, format: format, path: url.path)
            try AtomicFile.write(encoded.data, to: url)
            rendered.record.audioSHA256 = SHA256.hex(encoded.data)
            let entry = StreamEntry(record: rendered.record)
            try journal.append(entry)
            produced.set(spec.id, entry)
            made.add(made: 1)
        }
        reporter.finish()
        try journal.sync()
        try AtomicFile.write(
            Data("\(mine.count)\n".utf8), to: WorkFiles.doneMarker(dataset: dataset, shard: options.shard),
            durable: true)
        let known = finished.merging(produced.all) { _, new in new }
        let info = try mergeIfComplete(streams: streams, index: index, pool: pool, known: known)
        return GenerateSummary(dataset: dataset, made: made.made, reused: made.reused, skipped: 0, info: info)
    }

    func mergeIfComplete(
        streams: [StreamSpec], index: CorpusIndex, pool: NoisePool, known: [String: StreamEntry]
    ) throws -> DatasetInfo? {
        guard let lock = try WorkFiles.mergeLock(dataset: dataset, shard: options.shard) else { return nil }
        defer { lock.release() }
        var records: [String: StreamRecord] = [:]
        let entries =
            Array(known.values)
            + (try WorkFiles.otherShardsEntries(StreamEntry.self, dataset: dataset, shard: options.shard))
        for e in entries { records[e.record.id] = e.record }
        let kept = streams.compactMap { records[$0.id] }
        guard kept.count == streams.count else {
            throw GenerateError.incomplete(path: dataset.path, have: kept.count, expected: streams.count)
        }
        for split in Split.allCases {
            let data = try StreamRecord.manifestData(kept.filter { $0.split == split })
            try AtomicFile.write(data, to: DatasetLayout(dataset).manifest(split), durable: true)
        }
        let info = datasetInfo(records: kept, index: index, pool: pool)
        try AtomicFile.write(try CanonicalJSON.encodePretty(info), to: DatasetLayout(dataset).info, durable: true)
        try? FileManager.default.removeItem(at: DatasetLayout(dataset).workFolder)
        return info
    }

    func datasetInfo(records: [StreamRecord], index: CorpusIndex, pool: NoisePool) -> DatasetInfo {
        var counts: [String: [String: Int]] = [:], totals: [String: Int] = [:]
        var summaries: [String: StreamSplitSummary] = [:]
        for split in Split.allCases {
            counts[split.rawValue] = [:]
            totals[split.rawValue] = 0
        }
        var sources = Set<String>(), clips = Set<String>()
        for r in records {
            let s = split(r.split)
            totals[s, default: 0] += 1
            var summary =
                summaries[s]
                ?? StreamSplitSummary(
                    streams: 0, seconds: 0, negativeSeconds: 0, targets: 0, distractors: 0, repeatedNoiseSeconds: 0)
            summary.streams += 1
            summary.seconds += r.seconds
            if !r.events.contains(where: { $0.kind == .target }) { summary.negativeSeconds += r.seconds }
            summary.repeatedNoiseSeconds += Double(r.noiseRepeatedSamples) / Double(r.sampleRate)
            for e in r.events {
                if e.kind == .target { summary.targets += 1 } else { summary.distractors += 1 }
                if let label = e.label { counts[s, default: [:]][label, default: 0] += 1 }
                let line = "\(e.placement.source)\t\(e.placement.sourceSHA256)\n"
                sources.insert(line)
                clips.insert(line)
            }
            summaries[s] = summary
        }
        for f in pool.files { sources.insert("\(f.source)\t\(f.sha256)\n") }
        var h = SHA256()
        for line in sources.sorted() { h.update(line) }
        return DatasetInfo(
            name: recipe.name, variant: nil, recipe: nil, labels: recipe.labelNames,
            sampleRate: recipe.corpus.sampleRate, audioRendered: true,
            corpus: .init(
                version: index.version.rawValue, splitSource: index.splitSource.rawValue, fingerprint: h.finalizeHex(),
                keywordSources: clips.count),
            noiseFiles: pool.files, renderer: Self.rendererDescription, counts: counts, totals: totals, skipped: [],
            streamRecipe: recipe, streams: summaries)
    }

    func split(_ s: Split) -> String { s.rawValue }

    public static let rendererDescription: [String: String] = DatasetInfo.rendererDescription.merging([
        "mix":
            "the noise bed: sum over noise segments in manifest order of source[source_start_sample + i] * "
            + "10^(gain_db/20) * fades, placed at dest_start_sample (silences are where no segment lies); then each "
            + "event's clip (zero-padded at the end to one second) * 10^(placement.gain_db/20) added at "
            + "placement.onset_sample, in manifest order; everything * scale; float32 arithmetic",
        "snr_db_achieved":
            "per event: 20*log10(rms(event component)/rms(noise bed)) over the event's speech-active span "
            + "(speech_active) or its one-second window (whole_clip), before scale and quantisation",
    ]) { _, new in new }
}
