import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// One stream to make, before any audio is read: its id, split, group and the clips assigned to it.
public struct StreamSpec: Sendable, Equatable {
    public let id: String
    public let split: Split
    public let group: StreamRecipe.Group
    public let ordinal: Int
    public let targets: [Utterance]
    public let distractors: [Utterance]

    public func audioPath(format: AudioFormat) -> String {
        DatasetLayout.audioPath(split: split, id: id, format: format)
    }
}

/// Turns a stream recipe and a corpus index into every stream of every split, in canonical order.
///
/// Clips are dealt out, not drawn: per split, the target clips (the task's words) and the distractor clips (its
/// `unknown_words`) are each put in a seeded order (SHA-256 of seed, purpose and path), and the streams' slots —
/// group by group in recipe order, stream by stream — take them in turn, starting over when a pool runs out. So
/// every clip is used once before any is used twice, and the assignment needs no audio and no other shard.
public enum StreamEnumerator {
    /// - Throws: `GenerateError.noStreamClips` when a split's streams need a kind of clip the split lacks.
    public static func streams(recipe: StreamRecipe, index: CorpusIndex) throws -> [StreamSpec] {
        let targetWords = Set(recipe.task.words), distractorWords = Set(recipe.task.unknownWords)
        func seededOrder(_ items: [Utterance], _ purpose: String) -> [Utterance] {
            items.map { (SHA256.hex("\(recipe.seed)|\(purpose)|\($0.path)"), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var out: [StreamSpec] = []
        for split in recipe.splits {
            let inSplit = index.utterances.filter { $0.split == split }
            var targets = seededOrder(
                inSplit.filter { targetWords.contains($0.word) }, "stream-target-\(split.rawValue)")
            if let cap = recipe.task.maxKeywordsPerSplit { targets = Array(targets.prefix(cap)) }
            let distractors = seededOrder(
                inSplit.filter { distractorWords.contains($0.word) }, "stream-distractor-\(split.rawValue)")
            let needTargets = recipe.streams.contains { $0.targets > 0 }
            let needDistractors = recipe.streams.contains { $0.distractors > 0 }
            if needTargets && targets.isEmpty {
                throw GenerateError.noStreamClips(split: split.rawValue, kind: "target", words: recipe.task.words)
            }
            if needDistractors && distractors.isEmpty {
                throw GenerateError.noStreamClips(
                    split: split.rawValue, kind: "distractor", words: recipe.task.unknownWords)
            }
            var t = 0, d = 0
            var specs: [StreamSpec] = []
            for group in recipe.streams {
                for ordinal in 0..<group.count {
                    let mineT = (0..<group.targets).map { _ -> Utterance in
                        defer { t += 1 }
                        return targets[t % targets.count]
                    }
                    let mineD = (0..<group.distractors).map { _ -> Utterance in
                        defer { d += 1 }
                        return distractors[d % distractors.count]
                    }
                    specs.append(
                        StreamSpec(
                            id: String(format: "%@_%@_%05d", group.name, split.rawValue, ordinal), split: split,
                            group: group, ordinal: ordinal, targets: mineT, distractors: mineD))
                }
            }
            out += specs.sorted { $0.id < $1.id }
        }
        return out
    }
}

/// Plans and renders one stream from a `CounterRNG` keyed by (seed, group, split, ordinal): its length, the order
/// and times of its events and silences, its noise bed, the bed's gain and each event's SNR; then mixes it
/// (`StreamMixer`). An event's gain meets its drawn SNR against the rendered bed on its span, or raises it to
/// `level.min_event_dbfs` where the bed is so quiet that the SNR would leave the event at the file's quantisation.
public struct StreamPlanner: Sendable {
    public let recipe: StreamRecipe
    public let corpusRoot: URL
    public let noise: NoisePool
    public let hasher: SourceHasher

    public init(recipe: StreamRecipe, corpusRoot: URL, noise: NoisePool, hasher: SourceHasher) {
        self.recipe = recipe
        self.corpusRoot = corpusRoot
        self.noise = noise
        self.hasher = hasher
    }

    public struct Rendered: Sendable {
        public var record: StreamRecord
        public var samples: [Float]
    }

    /// A clip read for an event: the one-second window and its speech-active span.
    struct Clip {
        var utterance: Utterance
        var kind: StreamEvent.Kind
        var samples: [Float]
        var sourceSamples: Int
        var sha256: String
        var active: Range<Int>
    }

    /// - Throws: `GenerateError` for an unreadable or silent clip, a stream too short for its events, silent noise.
    public func plan(_ spec: StreamSpec) throws -> Rendered {
        let sr = recipe.corpus.sampleRate
        var rng = CounterRNG(
            seed: recipe.seed, key: ["stream", spec.group.name, spec.split.rawValue, "\(spec.ordinal)"])
        let length = max(sr, Int((spec.group.lengthSeconds.sample(&rng) * Double(sr)).rounded()))
        let bedGain = recipe.level.noiseGainDB.sample(&rng)
        let clips =
            try spec.targets.map { try read($0, kind: .target, id: spec.id) }
            + spec.distractors.map { try read($0, kind: .distractor, id: spec.id) }

        // Items in a seeded order: events (one second each) and silences.
        enum Item {
            case event(Int)
            case silence(Int)
        }
        let silenceLengths = (0..<(recipe.silences?.count ?? 0)).map { _ in
            max(1, Int((recipe.silences!.lengthSeconds.sample(&rng) * Double(sr)).rounded()))
        }
        var items: [Item] = clips.indices.map { .event($0) } + silenceLengths.indices.map { .silence($0) }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, rng.uniformInt(0...i)) }
        func itemLength(_ item: Item) -> Int {
            switch item {
            case .event: return sr
            case let .silence(j): return silenceLengths[j]
            }
        }
        let gap = Int((recipe.events.minGapSeconds * Double(sr)).rounded())
        let needed = items.reduce(0) { $0 + itemLength($1) } + max(0, items.count - 1) * gap
        guard needed <= length else {
            throw GenerateError.streamCannotFit(id: spec.id, neededSamples: needed, lengthSamples: length)
        }
        // Uniform placement with the gaps: sorted draws from the free range, each item pushed past the ones before.
        let free = length - needed
        let offsets = items.map { _ in rng.uniformInt(0...free) }.sorted()
        var onsets: [Int] = []
        var pushed = 0
        for (item, offset) in zip(items, offsets) {
            onsets.append(offset + pushed)
            pushed += itemLength(item) + gap
        }
        var silences: [SampleSpan] = []
        var eventOnsets = [Int](repeating: 0, count: clips.count)
        for (item, onset) in zip(items, onsets) {
            switch item {
            case let .event(j): eventOnsets[j] = onset
            case let .silence(j):
                silences.append(SampleSpan(onsetSample: onset, offsetSample: onset + silenceLengths[j]))
            }
        }

        // The bed: every stretch between silences, chained from the split's noise.
        var segments: [NoiseSegment] = []
        var start = 0
        for s in silences + [SampleSpan(onsetSample: length, offsetSample: length)] {
            if s.onsetSample > start {
                segments += chain(split: spec.split, range: start..<s.onsetSample, length: length, rng: &rng)
            }
            start = s.offsetSample
        }
        for i in segments.indices { segments[i].gainDB = bedGain }
        let segmentSamples = try segments.map {
            try noise.samples($0.source, start: $0.sourceStartSample, count: $0.numSamples)
        }
        let bed = Mixer.renderNoise(segments, samples: segmentSamples, range: 0..<length, unitGain: false)

        // Events in time order, each levelled against the bed on its span.
        let labels = recipe.labelNames
        var events: [StreamEvent] = []
        let order = clips.indices.sorted { eventOnsets[$0] < eventOnsets[$1] }
        for j in order {
            let c = clips[j], onset = eventOnsets[j]
            let snr = recipe.events.snrDB.sample(&rng)
            let label = c.kind == .target ? c.utterance.word : recipe.distractorLabel
            var event = StreamEvent(
                kind: c.kind, word: c.utterance.word, label: label, labelIndex: label.flatMap(labels.firstIndex(of:)),
                placement: KeywordPlacement(
                    source: c.utterance.path, sourceSHA256: c.sha256, sourceNumSamples: c.sourceSamples,
                    word: c.utterance.word, speaker: c.utterance.speaker, onsetSample: onset,
                    offsetSample: onset + sr, speechOnsetSample: onset + c.active.lowerBound,
                    speechOffsetSample: onset + c.active.upperBound, gainDB: 0),
                snrDB: snr, snrDBAchieved: nil)
            let span = event.snrSpan(recipe.events.snrDefinition)
            let k = Levels.rms(span.map { c.samples[$0 - onset] }), n = Levels.rms(bed, range: span)
            guard n > 1e-9 else {
                throw GenerateError.silentNoise(id: spec.id, source: segments.first?.source ?? "the noise bed")
            }
            // The drawn SNR, unless that leaves the event quieter than the floor (a near-silent stretch of bed).
            event.placement.gainDB = max(snr + 20 * log10(n / k), recipe.level.minEventDBFS - 20 * log10(k))
            events.append(event)
        }
        var record = StreamRecord(
            id: spec.id, split: spec.split, group: spec.group.name, sampleRate: sr, numSamples: length,
            audio: spec.audioPath(format: recipe.output.format), audioSHA256: "", noise: segments,
            noiseRepeatedSamples: Self.repeatedSamples(segments), silences: silences, events: events,
            snrDefinition: recipe.events.snrDefinition, scale: 1)
        let parts = StreamMixer.components(record, clips: order.map { clips[$0].samples }, bed: bed)
        let peak = Double(Mixer.peak(parts))
        record.scale = peak > recipe.level.maxPeak ? recipe.level.maxPeak / peak : 1
        for i in record.events.indices {
            record.events[i].snrDBAchieved = Mixer.snrDB(parts, range: record.events[i].snrSpan(record.snrDefinition))
        }
        return Rendered(record: record, samples: Mixer.mix(parts, scale: record.scale))
    }

    func read(_ u: Utterance, kind: StreamEvent.Kind, id: String) throws -> Clip {
        let sr = recipe.corpus.sampleRate
        let raw: [Float], url: URL
        do {
            url = try ContainedPath.resolve(
                u.path, under: corpusRoot, field: "\(kind.rawValue) clip", regularFile: true)
            raw = try AudioReader.read(url, options: AudioReadOptions(sampleRate: sr)).samples
        } catch {
            throw GenerateError.unreadableKeyword(id: id, source: u.path, reason: "\(error)")
        }
        let padded = Mixer.oneSecond(raw, sampleRate: sr)
        guard let active = recipe.speechActivity.detector(sampleRate: sr).span(padded) else {
            throw GenerateError.silentKeyword(id: id, source: u.path)
        }
        return Clip(
            utterance: u, kind: kind, samples: padded, sourceSamples: raw.count,
            sha256: try hasher.sha256(of: url, name: u.path), active: active)
    }

    /// Noise segments covering `range` of the stream, from the split's regions: a file drawn by region length and a
    /// uniform start, then, while the stretch goes on, whole passes over a newly drawn file's region, each
    /// crossfading with the one before. Fades at the stretch's ends (into and out of a silence) are at most half
    /// the stretch.
    func chain(split: Split, range: Range<Int>, length: Int, rng: inout CounterRNG) -> [NoiseSegment] {
        let files = noise.files
        let total = files.reduce(0) { $0 + $1.region(split).count }
        func draw(_ rng: inout CounterRNG) -> DatasetInfo.NoiseFile {
            var u = rng.uniformInt(0..<total)
            for f in files {
                if u < f.region(split).count { return f }
                u -= f.region(split).count
            }
            return files[files.count - 1]
        }
        let fade = Int((recipe.noise.crossfadeSeconds * Double(recipe.corpus.sampleRate)).rounded())
        let edge = min(fade, range.count / 2)
        let edgeIn = range.lowerBound > 0 ? edge : 0, edgeOut = range.upperBound < length ? edge : 0
        var file = draw(&rng)
        var region = file.region(split)
        func segment(_ start: Int, _ count: Int, _ dest: Int, _ fadeIn: Int, _ fadeOut: Int) -> NoiseSegment {
            NoiseSegment(
                source: file.source, sourceSHA256: file.sha256, sourceStartSample: start, numSamples: count,
                destStartSample: dest, gainDB: 0, fadeInSamples: fadeIn, fadeOutSamples: fadeOut)
        }
        if region.count >= range.count {
            let start = region.lowerBound + rng.uniformInt(0...(region.count - range.count))
            return [segment(start, range.count, range.lowerBound, edgeIn, edgeOut)]
        }
        var out: [NoiseSegment] = []
        var dest = range.lowerBound
        var srcStart = region.lowerBound + rng.uniformInt(0...(region.count - 2 * fade - 1))
        var count = region.upperBound - srcStart
        var fadeIn = edgeIn
        while dest + count < range.upperBound {
            out.append(segment(srcStart, count, dest, fadeIn, fade))
            dest += count - fade
            file = draw(&rng)
            region = file.region(split)
            srcStart = region.lowerBound
            count = region.count
            fadeIn = fade
        }
        let last = range.upperBound - dest
        out.append(segment(srcStart, last, dest, fadeIn, min(edgeOut, last - fadeIn)))
        return out
    }

    /// Samples of the bed that reuse a source sample an earlier segment of the same stream used.
    static func repeatedSamples(_ segments: [NoiseSegment]) -> Int {
        var bySource: [String: [(Int, Int)]] = [:]
        for s in segments where s.numSamples > 0 {
            bySource[s.source, default: []].append((s.sourceStartSample, s.sourceStartSample + s.numSamples))
        }
        var repeated = 0
        for spans in bySource.values {
            let used = spans.reduce(0) { $0 + $1.1 - $1.0 }
            let covered = NoiseUsage.merged(spans).reduce(0) { $0 + $1.1 - $1.0 }
            repeated += used - covered
        }
        return repeated
    }
}

/// Renders a stream from its record: a pure function of the record and the source samples, shared by
/// `tkd generate` and `tkd verify`.
///
/// mix[t] = bed[t] + Σ_events clip_e[t − onset_e] · 10^(gain_db_e / 20), then × scale; the bed as `Mixer` renders
/// an example's noise; events added in record order; float32 arithmetic.
public enum StreamMixer {
    /// The bed and the events at unit scale.
    /// - Parameters:
    ///   - clips: each event's one-second clip, in record order.
    ///   - bed: the noise bed already rendered (`Mixer.renderNoise` of the record's segments).
    public static func components(_ record: StreamRecord, clips: [[Float]], bed: [Float]) -> Mixer.Components {
        var keyword = [Float](repeating: 0, count: record.numSamples)
        for (e, clip) in zip(record.events, clips) {
            let g = Mixer.amplitude(e.placement.gainDB), onset = e.placement.onsetSample
            for i in 0..<min(clip.count, record.numSamples - onset) { keyword[onset + i] += clip[i] * g }
        }
        return Mixer.Components(keyword: keyword, noise: bed)
    }
}
