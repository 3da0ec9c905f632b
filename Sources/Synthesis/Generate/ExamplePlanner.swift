import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// Plans and renders one example: draws its length, onset, noise, gains and SNR from a `CounterRNG`
/// keyed by (seed, variant, split, id), then renders it through `Mixer`.
public struct ExamplePlanner: Sendable {
    public let recipe: Recipe
    public let variant: Recipe.VariantSpec
    public let corpusRoot: URL
    public let noise: NoisePool
    public let hasher: SourceHasher

    var sampleRate: Int { recipe.corpus.sampleRate }

    public init(recipe: Recipe, variant: Recipe.VariantSpec, corpusRoot: URL, noise: NoisePool, hasher: SourceHasher) {
        self.recipe = recipe
        self.variant = variant
        self.corpusRoot = corpusRoot
        self.noise = noise
        self.hasher = hasher
    }

    /// A planned and rendered example: the record (without `audio_sha256`) and its samples.
    public struct Rendered: Sendable {
        public var record: ExampleRecord
        public var samples: [Float]
    }

    /// - Throws: `GenerateError` for a silent keyword or silent noise, an unreadable keyword clip.
    public func plan(_ spec: ExampleSpec) throws -> Rendered {
        let sr = sampleRate
        var rng = CounterRNG(seed: recipe.seed, key: ["generate", variant.name, spec.split.rawValue, spec.id])
        let length = max(sr, Int((variant.lengthSeconds.sample(&rng) * Double(sr)).rounded()))

        // Keyword clip, onset and speech span.
        var keyword: KeywordPlacement?
        var clip: [Float]?
        var speech: Range<Int>?
        if case let .clip(u) = spec.kind {
            let raw: [Float], url: URL
            do {
                // Read as render and verify will: inside the corpus, no link out of it.
                url = try ContainedPath.resolve(u.path, under: corpusRoot, field: "keyword clip", regularFile: true)
                raw = try AudioReader.read(url, options: AudioReadOptions(sampleRate: sr)).samples
            } catch {
                throw GenerateError.unreadableKeyword(id: spec.id, source: u.path, reason: "\(error)")
            }
            let padded = Mixer.oneSecond(raw, sampleRate: sr)
            guard let active = recipe.speechActivity.detector(sampleRate: sr).span(padded) else {
                throw GenerateError.silentKeyword(id: spec.id, source: u.path)
            }
            let free = length - sr
            let onset: Int
            switch recipe.placement.onset {
            case .uniform: onset = rng.uniformInt(0...free)
            case let .fraction(d): onset = Int((d.sample(&rng) * Double(free)).rounded())
            }
            let gain = recipe.level.keywordGainDB.sample(&rng)
            keyword = KeywordPlacement(
                source: u.path, sourceSHA256: try hasher.sha256(of: url, name: u.path), sourceNumSamples: raw.count,
                word: u.word, speaker: u.speaker, onsetSample: onset, offsetSample: onset + sr,
                speechOnsetSample: onset + active.lowerBound, speechOffsetSample: onset + active.upperBound,
                gainDB: gain)
            clip = padded
            speech = (onset + active.lowerBound)..<(onset + active.upperBound)
        }

        // Noise: a file weighted by its region length, a uniform start, looping with crossfades.
        let segments = drawNoise(split: spec.split, length: length, rng: &rng)
        let segmentSamples = try segments.map {
            try noise.samples($0.source, start: $0.sourceStartSample, count: $0.numSamples)
        }
        var record = ExampleRecord(
            id: spec.id, split: spec.split, label: spec.label, labelIndex: spec.labelIndex, sampleRate: sr,
            numSamples: length, audio: spec.audioPath(format: recipe.output.format), audioSHA256: "",
            keyword: keyword, noise: segments, snrDB: nil, snrDBAchieved: nil, snrDefinition: nil, scale: 1)

        // Noise gain: from the target SNR on the reference span, or the silence gain.
        let noiseGainDB: Double
        var reference: Range<Int>?
        if let kw = keyword, let speech {
            let snr = recipe.level.snrDB.sample(&rng)
            let span = recipe.level.snrDefinition == .speechActive ? speech : kw.onsetSample..<kw.offsetSample
            // Keyword (with its gain) and noise (at unit gain) on the reference span only.
            let g = Mixer.amplitude(kw.gainDB)
            let keywordSpan = span.map { clip![$0 - kw.onsetSample] * g }
            let noiseSpan = Mixer.renderNoise(record, segments: segmentSamples, range: span, unitGain: true)
            let k = Levels.rms(keywordSpan), n = Levels.rms(noiseSpan)
            guard n > 1e-9 else { throw GenerateError.silentNoise(id: spec.id, source: segments[0].source) }
            noiseGainDB = 20 * log10(k / n) - snr
            record.snrDB = snr
            record.snrDefinition = recipe.level.snrDefinition
            reference = span
        } else {
            noiseGainDB = recipe.level.silenceGainDB.sample(&rng)
        }
        for i in record.noise.indices { record.noise[i].gainDB = noiseGainDB }

        let components = Mixer.components(record, keywordClip: clip, segments: segmentSamples)
        let peak = Double(Mixer.peak(components))
        record.scale = peak > recipe.level.maxPeak ? recipe.level.maxPeak / peak : 1
        if let reference { record.snrDBAchieved = Mixer.snrDB(components, range: reference) }
        return Rendered(record: record, samples: Mixer.mix(components, scale: record.scale))
    }

    /// Noise segments covering `length` samples, inside the split's region of one file.
    func drawNoise(split: Split, length: Int, rng: inout CounterRNG) -> [NoiseSegment] {
        let files = noise.files
        let total = files.reduce(0) { $0 + $1.region(split).count }
        var u = rng.uniformInt(0..<total)
        var file = files[files.count - 1]
        for f in files {
            if u < f.region(split).count {
                file = f
                break
            }
            u -= f.region(split).count
        }
        let region = file.region(split)
        func segment(_ start: Int, _ count: Int, _ dest: Int, _ fadeIn: Int, _ fadeOut: Int) -> NoiseSegment {
            NoiseSegment(
                source: file.source, sourceSHA256: file.sha256, sourceStartSample: start, numSamples: count,
                destStartSample: dest, gainDB: 0, fadeInSamples: fadeIn, fadeOutSamples: fadeOut)
        }
        if region.count >= length {
            return [segment(region.lowerBound + rng.uniformInt(0...(region.count - length)), length, 0, 0, 0)]
        }
        // Loop: start anywhere that leaves more than one crossfade before the region's end, then whole
        // passes over the region, each overlapping the previous by the crossfade; the last pass is cut.
        let fade = Int((recipe.noise.crossfadeSeconds * Double(sampleRate)).rounded())
        let start = region.lowerBound + rng.uniformInt(0...(region.count - 2 * fade - 1))
        var out: [NoiseSegment] = []
        var dest = 0
        var srcStart = start
        var count = region.upperBound - start
        var fadeIn = 0
        while dest + count < length {
            out.append(segment(srcStart, count, dest, fadeIn, fade))
            dest += count - fade
            srcStart = region.lowerBound
            count = region.count
            fadeIn = fade
        }
        out.append(segment(srcStart, length - dest, dest, fadeIn, 0))
        return out
    }
}
