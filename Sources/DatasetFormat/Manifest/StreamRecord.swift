import Foundation
import TKDCore

/// One stream of a stream dataset (`kind: stream`): a line of `manifests/<split>.jsonl` (contract; every field is
/// documented in `Manifests/README.md` and `Manifests/stream.schema.json`).
///
/// mix[t] = Σ_segments noise (as `ExampleRecord`'s) + Σ_events clip_e[t − onset_e] · 10^(gain_db_e / 20), then
/// × scale. Silences are stretches no noise segment covers.
public struct StreamRecord: Sendable, Equatable, Codable {
    public var id: String
    public var split: Split
    /// The recipe's stream group (`streams[].name`).
    public var group: String
    public var sampleRate: Int
    public var numSamples: Int
    /// Path of the audio file relative to the dataset folder.
    public var audio: String
    public var audioSHA256: String
    /// The noise bed: segments of the split's noise regions, consecutive ones crossfaded.
    public var noise: [NoiseSegment]
    /// Samples of the bed that repeat a source sample already used earlier in the same stream (the bed looped).
    public var noiseRepeatedSamples: Int
    /// Stretches with no noise, `[onset, offset)` in samples.
    public var silences: [SampleSpan]
    /// Every keyword in the stream, in time order.
    public var events: [StreamEvent]
    public var snrDefinition: Recipe.SNRDefinition
    /// The factor the whole mix was multiplied by to keep its peak at or below `max_peak` (1 when none).
    public var scale: Double

    enum CodingKeys: String, CodingKey {
        case id, split, group, audio, noise, silences, events, scale
        case sampleRate = "sample_rate"
        case numSamples = "num_samples"
        case durationSeconds = "duration_seconds"
        case audioSHA256 = "audio_sha256"
        case noiseRepeatedSamples = "noise_repeated_samples"
        case snrDefinition = "snr_definition"
    }

    public init(
        id: String, split: Split, group: String, sampleRate: Int, numSamples: Int, audio: String, audioSHA256: String,
        noise: [NoiseSegment], noiseRepeatedSamples: Int, silences: [SampleSpan], events: [StreamEvent],
        snrDefinition: Recipe.SNRDefinition, scale: Double
    ) {
        self.id = id
        self.split = split
        self.group = group
        self.sampleRate = sampleRate
        self.numSamples = numSamples
        self.audio = audio
        self.audioSHA256 = audioSHA256
        self.noise = noise
        self.noiseRepeatedSamples = noiseRepeatedSamples
        self.silences = silences
        self.events = events
        self.snrDefinition = snrDefinition
        self.scale = scale
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        split = try c.decode(Split.self, forKey: .split)
        group = try c.decode(String.self, forKey: .group)
        sampleRate = try c.decode(Int.self, forKey: .sampleRate)
        numSamples = try c.decode(Int.self, forKey: .numSamples)
        audio = try c.decode(String.self, forKey: .audio)
        audioSHA256 = try c.decode(String.self, forKey: .audioSHA256)
        noise = try c.decode([NoiseSegment].self, forKey: .noise)
        noiseRepeatedSamples = try c.decode(Int.self, forKey: .noiseRepeatedSamples)
        silences = try c.decode([SampleSpan].self, forKey: .silences)
        events = try c.decode([StreamEvent].self, forKey: .events)
        snrDefinition = try c.decode(Recipe.SNRDefinition.self, forKey: .snrDefinition)
        scale = try c.decode(Double.self, forKey: .scale)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(split, forKey: .split)
        try c.encode(group, forKey: .group)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(numSamples, forKey: .numSamples)
        try c.encode(Double(numSamples) / Double(sampleRate), forKey: .durationSeconds)
        try c.encode(audio, forKey: .audio)
        try c.encode(audioSHA256, forKey: .audioSHA256)
        try c.encode(noise, forKey: .noise)
        try c.encode(noiseRepeatedSamples, forKey: .noiseRepeatedSamples)
        try c.encode(silences, forKey: .silences)
        try c.encode(events, forKey: .events)
        try c.encode(snrDefinition, forKey: .snrDefinition)
        try c.encode(scale, forKey: .scale)
    }

    /// The stream's length in seconds.
    public var seconds: Double { Double(numSamples) / Double(sampleRate) }

    /// The canonical manifest line (keys sorted, no trailing newline).
    public func canonicalJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.userInfo[.sampleRate] = sampleRate
        return try encoder.encode(self)
    }

    /// A whole manifest: records sorted by id, one canonical line each.
    public static func manifestData(_ records: [StreamRecord]) throws -> Data {
        var out = Data()
        for r in records.sorted(by: { $0.id < $1.id }) {
            out.append(try r.canonicalJSON())
            out.append(0x0A)
        }
        return out
    }
}

/// `[onset_sample, offset_sample)` in a recording, with the same positions in seconds beside them.
public struct SampleSpan: Sendable, Equatable, Codable {
    public var onsetSample: Int
    public var offsetSample: Int

    enum CodingKeys: String, CodingKey {
        case onsetSample = "onset_sample", offsetSample = "offset_sample"
        case onsetSeconds = "onset_seconds", offsetSeconds = "offset_seconds"
    }

    public init(onsetSample: Int, offsetSample: Int) {
        self.onsetSample = onsetSample
        self.offsetSample = offsetSample
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        onsetSample = try c.decode(Int.self, forKey: .onsetSample)
        offsetSample = try c.decode(Int.self, forKey: .offsetSample)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(onsetSample, forKey: .onsetSample)
        try c.encode(offsetSample, forKey: .offsetSample)
        if let rate = encoder.userInfo[.sampleRate] as? Int {
            try c.encode(Double(onsetSample) / Double(rate), forKey: .onsetSeconds)
            try c.encode(Double(offsetSample) / Double(rate), forKey: .offsetSeconds)
        }
    }

    public var range: Range<Int> { onsetSample..<offsetSample }
}

/// One keyword in a stream: a target (a word of the label set) or a distractor (`_unknown_` words and corpus
/// words outside the label set).
public struct StreamEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case target, distractor
    }

    public var kind: Kind
    public var word: String
    /// The label a detector should give it (the word for a target; `_unknown_`, or nil when the label set has no
    /// such class, for a distractor) and its index in `dataset.json`'s labels.
    public var label: String?
    public var labelIndex: Int?
    /// The clip, placed as `ExampleRecord.keyword` places one: a one-second window (the clip zero-padded at its
    /// end), its speech-active span inside, the clip's gain.
    public var placement: KeywordPlacement
    /// Target SNR against the noise bed, and the SNR of the rendered event and bed (before scale and quantisation)
    /// on the stream's `snr_definition` span; nil where the bed is silent there.
    public var snrDB: Double
    public var snrDBAchieved: Double?

    enum CodingKeys: String, CodingKey {
        case kind, word, label, placement
        case labelIndex = "label_index"
        case snrDB = "snr_db"
        case snrDBAchieved = "snr_db_achieved"
    }

    public init(
        kind: Kind, word: String, label: String?, labelIndex: Int?, placement: KeywordPlacement, snrDB: Double,
        snrDBAchieved: Double?
    ) {
        self.kind = kind
        self.word = word
        self.label = label
        self.labelIndex = labelIndex
        self.placement = placement
        self.snrDB = snrDB
        self.snrDBAchieved = snrDBAchieved
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        word = try c.decode(String.self, forKey: .word)
        label = try c.decodeIfPresent(String.self, forKey: .label)
        labelIndex = try c.decodeIfPresent(Int.self, forKey: .labelIndex)
        placement = try c.decode(KeywordPlacement.self, forKey: .placement)
        snrDB = try c.decode(Double.self, forKey: .snrDB)
        snrDBAchieved = try c.decodeIfPresent(Double.self, forKey: .snrDBAchieved)
    }

    /// Every key is written, nulls included.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(word, forKey: .word)
        if let label { try c.encode(label, forKey: .label) } else { try c.encodeNil(forKey: .label) }
        if let labelIndex {
            try c.encode(labelIndex, forKey: .labelIndex)
        } else {
            try c.encodeNil(forKey: .labelIndex)
        }
        try c.encode(placement, forKey: .placement)
        try c.encode(snrDB, forKey: .snrDB)
        if let snrDBAchieved {
            try c.encode(snrDBAchieved, forKey: .snrDBAchieved)
        } else {
            try c.encodeNil(forKey: .snrDBAchieved)
        }
    }

    /// The span the SNR is measured on: the speech-active span or the one-second window.
    public func snrSpan(_ definition: Recipe.SNRDefinition) -> Range<Int> {
        definition == .speechActive
            ? placement.speechOnsetSample..<placement.speechOffsetSample
            : placement.onsetSample..<placement.offsetSample
    }
}
