import Foundation

/// One example of a generated dataset: a line of `manifests/<split>.jsonl` (contract; every field is
/// documented in `Manifests/README.md` and `Manifests/manifest.schema.json`).
///
/// Sample positions are integers in the example's timeline at `sample_rate`; the `*_seconds` fields
/// are the same positions divided by the rate, for convenience.
public struct ExampleRecord: Sendable, Equatable, Codable {
    public var id: String
    public var split: Split
    public var label: String
    public var labelIndex: Int
    public var sampleRate: Int
    public var numSamples: Int
    /// Path of the audio file relative to the dataset folder.
    public var audio: String
    public var audioSHA256: String
    /// The keyword clip, or nil for `_silence_`.
    public var keyword: KeywordPlacement?
    public var noise: [NoiseSegment]
    /// Target SNR (nil for `_silence_`).
    public var snrDB: Double?
    /// SNR of the rendered keyword and noise (before integer quantisation), by `snr_definition`.
    public var snrDBAchieved: Double?
    public var snrDefinition: Recipe.SNRDefinition?
    /// The factor the whole mix was multiplied by to keep its peak at or below `max_peak` (1 when none).
    public var scale: Double
    /// Multi-label datasets (`task: multi_label`): every label of the example in label-index order, with their
    /// indices; `label`/`label_index` are the first of them. Absent in single-label datasets.
    public var labels: [String]?
    public var labelIndices: [Int]?
    /// Where the example was cut from a corpus clip (clip datasets); absent in generated mixtures.
    public var clip: ClipExcerpt?
    /// Sound events with known positions in the example (the FSD50K stand-in's events.json); absent when the
    /// corpus gives none (the real FSD50K is weakly labelled).
    public var events: [EventSpan]?

    enum CodingKeys: String, CodingKey {
        case id, split, label, audio, keyword, noise, scale
        case labelIndex = "label_index"
        case sampleRate = "sample_rate"
        case numSamples = "num_samples"
        case durationSeconds = "duration_seconds"
        case audioSHA256 = "audio_sha256"
        case snrDB = "snr_db"
        case snrDBAchieved = "snr_db_achieved"
        case snrDefinition = "snr_definition"
        case labels, clip, events
        case labelIndices = "label_indices"
    }

    public init(
        id: String, split: Split, label: String, labelIndex: Int, sampleRate: Int, numSamples: Int,
        audio: String, audioSHA256: String, keyword: KeywordPlacement?, noise: [NoiseSegment],
        snrDB: Double?, snrDBAchieved: Double?, snrDefinition: Recipe.SNRDefinition?, scale: Double,
        labels: [String]? = nil, labelIndices: [Int]? = nil, clip: ClipExcerpt? = nil, events: [EventSpan]? = nil
    ) {
        self.id = id
        self.split = split
        self.label = label
        self.labelIndex = labelIndex
        self.sampleRate = sampleRate
        self.numSamples = numSamples
        self.audio = audio
        self.audioSHA256 = audioSHA256
        self.keyword = keyword
        self.noise = noise
        self.snrDB = snrDB
        self.snrDBAchieved = snrDBAchieved
        self.snrDefinition = snrDefinition
        self.scale = scale
        self.labels = labels
        self.labelIndices = labelIndices
        self.clip = clip
        self.events = events
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        split = try c.decode(Split.self, forKey: .split)
        label = try c.decode(String.self, forKey: .label)
        labelIndex = try c.decode(Int.self, forKey: .labelIndex)
        sampleRate = try c.decode(Int.self, forKey: .sampleRate)
        numSamples = try c.decode(Int.self, forKey: .numSamples)
        audio = try c.decode(String.self, forKey: .audio)
        audioSHA256 = try c.decode(String.self, forKey: .audioSHA256)
        keyword = try c.decodeIfPresent(KeywordPlacement.self, forKey: .keyword)
        noise = try c.decode([NoiseSegment].self, forKey: .noise)
        snrDB = try c.decodeIfPresent(Double.self, forKey: .snrDB)
        snrDBAchieved = try c.decodeIfPresent(Double.self, forKey: .snrDBAchieved)
        snrDefinition = try c.decodeIfPresent(Recipe.SNRDefinition.self, forKey: .snrDefinition)
        scale = try c.decode(Double.self, forKey: .scale)
        labels = try c.decodeIfPresent([String].self, forKey: .labels)
        labelIndices = try c.decodeIfPresent([Int].self, forKey: .labelIndices)
        clip = try c.decodeIfPresent(ClipExcerpt.self, forKey: .clip)
        events = try c.decodeIfPresent([EventSpan].self, forKey: .events)
    }

    /// Every key is written, nulls included, so that each record has the same shape.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(split, forKey: .split)
        try c.encode(label, forKey: .label)
        try c.encode(labelIndex, forKey: .labelIndex)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(numSamples, forKey: .numSamples)
        try c.encode(Double(numSamples) / Double(sampleRate), forKey: .durationSeconds)
        try c.encode(audio, forKey: .audio)
        try c.encode(audioSHA256, forKey: .audioSHA256)
        if let keyword { try c.encode(keyword, forKey: .keyword) } else { try c.encodeNil(forKey: .keyword) }
        try c.encode(noise, forKey: .noise)
        if let snrDB { try c.encode(snrDB, forKey: .snrDB) } else { try c.encodeNil(forKey: .snrDB) }
        if let snrDBAchieved {
            try c.encode(snrDBAchieved, forKey: .snrDBAchieved)
        } else {
            try c.encodeNil(forKey: .snrDBAchieved)
        }
        if let snrDefinition {
            try c.encode(snrDefinition, forKey: .snrDefinition)
        } else {
            try c.encodeNil(forKey: .snrDefinition)
        }
        try c.encode(scale, forKey: .scale)
        // Clip datasets' keys only where they apply, so single-label manifests keep their bytes.
        try c.encodeIfPresent(labels, forKey: .labels)
        try c.encodeIfPresent(labelIndices, forKey: .labelIndices)
        try c.encodeIfPresent(clip, forKey: .clip)
        try c.encodeIfPresent(events, forKey: .events)
    }

    /// The example's label indices: `label_indices` in a multi-label dataset, else `[label_index]`.
    public var allLabelIndices: [Int] { labelIndices ?? [labelIndex] }

    /// Where the example's evidence lies, `[onset, offset)` spans in samples: the keyword's speech-active span, or
    /// a clip's recorded events (the FSD50K stand-in's); empty when neither is known (`_silence_`, the real
    /// FSD50K). The oracle target, rollout localisation and the report's shading all read it.
    public var evidenceSpans: [(onset: Int, offset: Int)] {
        if let k = keyword { return [(k.speechOnsetSample, k.speechOffsetSample)] }
        return (events ?? []).map { ($0.onsetSample, $0.offsetSample) }
    }

    /// The example's labels: `labels` in a multi-label dataset, else `[label]`.
    public var allLabels: [String] { labels ?? [label] }
}

/// Where a clip dataset's example comes from: the corpus clip, resampled to the dataset's rate, and the stretch
/// of it the example holds.
public struct ClipExcerpt: Sendable, Equatable, Codable {
    /// The clip's id: the examples (patches) of one clip share it, and are scored together.
    public var id: String
    /// Corpus-relative path of the source clip.
    public var source: String
    public var sourceSHA256: String
    public var sourceSampleRate: Int
    public var sourceNumSamples: Int
    /// The clip's length at the dataset's rate (after resampling).
    public var clipNumSamples: Int
    /// The first resampled clip sample in the example, and how many follow from there (the rest of the example
    /// is padding: zeros, or the clip repeated).
    public var startSample: Int
    public var numSamples: Int
    /// This example's patch (0-based) and the clip's patch count (0 and 1 outside `patches` mode).
    public var patch: Int
    public var patches: Int

    enum CodingKeys: String, CodingKey {
        case id, source, patch, patches
        case sourceSHA256 = "source_sha256"
        case sourceSampleRate = "source_sample_rate"
        case sourceNumSamples = "source_num_samples"
        case clipNumSamples = "clip_num_samples"
        case startSample = "start_sample"
        case numSamples = "num_samples"
    }

    public init(
        id: String, source: String, sourceSHA256: String, sourceSampleRate: Int, sourceNumSamples: Int,
        clipNumSamples: Int, startSample: Int, numSamples: Int, patch: Int, patches: Int
    ) {
        self.id = id
        self.source = source
        self.sourceSHA256 = sourceSHA256
        self.sourceSampleRate = sourceSampleRate
        self.sourceNumSamples = sourceNumSamples
        self.clipNumSamples = clipNumSamples
        self.startSample = startSample
        self.numSamples = numSamples
        self.patch = patch
        self.patches = patches
    }
}

/// A sound event's span `[onset_sample, offset_sample)` in an example's timeline.
public struct EventSpan: Sendable, Equatable, Codable {
    public var label: String
    public var onsetSample: Int
    public var offsetSample: Int

    enum CodingKeys: String, CodingKey {
        case label
        case onsetSample = "onset_sample"
        case offsetSample = "offset_sample"
    }

    public init(label: String, onsetSample: Int, offsetSample: Int) {
        self.label = label
        self.onsetSample = onsetSample
        self.offsetSample = offsetSample
    }
}

/// Where a keyword clip sits in an example.
public struct KeywordPlacement: Sendable, Equatable, Codable {
    /// Corpus-relative path of the source clip.
    public var source: String
    public var sourceSHA256: String
    /// Frames of the source clip (clips shorter than one second are padded with zeros at the end).
    public var sourceNumSamples: Int
    public var word: String
    public var speaker: String
    /// The 1-s clip window `[onset_sample, offset_sample)` in the example.
    public var onsetSample: Int
    public var offsetSample: Int
    /// The speech-active span `[speech_onset_sample, speech_offset_sample)` in the example.
    public var speechOnsetSample: Int
    public var speechOffsetSample: Int
    /// Gain applied to the clip before mixing (before `scale`).
    public var gainDB: Double

    enum CodingKeys: String, CodingKey {
        case source, word, speaker
        case sourceSHA256 = "source_sha256"
        case sourceNumSamples = "source_num_samples"
        case onsetSample = "onset_sample"
        case offsetSample = "offset_sample"
        case speechOnsetSample = "speech_onset_sample"
        case speechOffsetSample = "speech_offset_sample"
        case gainDB = "gain_db"
        case onsetSeconds = "onset_seconds"
        case offsetSeconds = "offset_seconds"
        case speechOnsetSeconds = "speech_onset_seconds"
        case speechOffsetSeconds = "speech_offset_seconds"
    }

    public init(
        source: String, sourceSHA256: String, sourceNumSamples: Int, word: String, speaker: String,
        onsetSample: Int, offsetSample: Int, speechOnsetSample: Int, speechOffsetSample: Int, gainDB: Double
    ) {
        self.source = source
        self.sourceSHA256 = sourceSHA256
        self.sourceNumSamples = sourceNumSamples
        self.word = word
        self.speaker = speaker
        self.onsetSample = onsetSample
        self.offsetSample = offsetSample
        self.speechOnsetSample = speechOnsetSample
        self.speechOffsetSample = speechOffsetSample
        self.gainDB = gainDB
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(String.self, forKey: .source)
        sourceSHA256 = try c.decode(String.self, forKey: .sourceSHA256)
        sourceNumSamples = try c.decode(Int.self, forKey: .sourceNumSamples)
        word = try c.decode(String.self, forKey: .word)
        speaker = try c.decode(String.self, forKey: .speaker)
        onsetSample = try c.decode(Int.self, forKey: .onsetSample)
        offsetSample = try c.decode(Int.self, forKey: .offsetSample)
        speechOnsetSample = try c.decode(Int.self, forKey: .speechOnsetSample)
        speechOffsetSample = try c.decode(Int.self, forKey: .speechOffsetSample)
        gainDB = try c.decode(Double.self, forKey: .gainDB)
    }

    /// Needs the sample rate for the seconds fields, so it is written by `encode(to:sampleRate:)`
    /// through `ExampleRecord`; this form writes samples only.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(sourceSHA256, forKey: .sourceSHA256)
        try c.encode(sourceNumSamples, forKey: .sourceNumSamples)
        try c.encode(word, forKey: .word)
        try c.encode(speaker, forKey: .speaker)
        try c.encode(onsetSample, forKey: .onsetSample)
        try c.encode(offsetSample, forKey: .offsetSample)
        try c.encode(speechOnsetSample, forKey: .speechOnsetSample)
        try c.encode(speechOffsetSample, forKey: .speechOffsetSample)
        try c.encode(gainDB, forKey: .gainDB)
        if let rate = encoder.userInfo[.sampleRate] as? Int {
            let r = Double(rate)
            try c.encode(Double(onsetSample) / r, forKey: .onsetSeconds)
            try c.encode(Double(offsetSample) / r, forKey: .offsetSeconds)
            try c.encode(Double(speechOnsetSample) / r, forKey: .speechOnsetSeconds)
            try c.encode(Double(speechOffsetSample) / r, forKey: .speechOffsetSeconds)
        }
    }
}

/// One stretch of noise in an example. When a noise region is shorter than the example it is looped:
/// consecutive segments overlap by a crossfade, the earlier fading out (cos) while the later fades in
/// (sin) over the same samples — equal power for uncorrelated noise.
public struct NoiseSegment: Sendable, Equatable, Codable {
    /// Path of the noise file: corpus-relative for `background_noise`, else as the recipe's source folder + file.
    public var source: String
    public var sourceSHA256: String
    /// First sample used, in the source at the dataset's sample rate.
    public var sourceStartSample: Int
    public var numSamples: Int
    /// Where the segment starts in the example.
    public var destStartSample: Int
    /// Gain applied to the segment (before `scale`).
    public var gainDB: Double
    /// Equal-power fade lengths at the segment's start and end (0 = none).
    public var fadeInSamples: Int
    public var fadeOutSamples: Int

    enum CodingKeys: String, CodingKey {
        case source
        case sourceSHA256 = "source_sha256"
        case sourceStartSample = "source_start_sample"
        case numSamples = "num_samples"
        case destStartSample = "dest_start_sample"
        case gainDB = "gain_db"
        case fadeInSamples = "fade_in_samples"
        case fadeOutSamples = "fade_out_samples"
    }

    public init(
        source: String, sourceSHA256: String, sourceStartSample: Int, numSamples: Int, destStartSample: Int,
        gainDB: Double, fadeInSamples: Int, fadeOutSamples: Int
    ) {
        self.source = source
        self.sourceSHA256 = sourceSHA256
        self.sourceStartSample = sourceStartSample
        self.numSamples = numSamples
        self.destStartSample = destStartSample
        self.gainDB = gainDB
        self.fadeInSamples = fadeInSamples
        self.fadeOutSamples = fadeOutSamples
    }
}

extension CodingUserInfoKey {
    /// The dataset's sample rate, so nested records can write seconds beside samples.
    public static let sampleRate = CodingUserInfoKey(rawValue: "tkd.sampleRate")!
}

extension ExampleRecord {
    /// The canonical manifest line (keys sorted, no trailing newline).
    public func canonicalJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.userInfo[.sampleRate] = sampleRate
        return try encoder.encode(self)
    }

    /// A whole manifest: records sorted by id, one canonical line each.
    public static func manifestData(_ records: [ExampleRecord]) throws -> Data {
        var out = Data()
        for r in records.sorted(by: { $0.id < $1.id }) {
            out.append(try r.canonicalJSON())
            out.append(0x0A)
        }
        return out
    }
}
