import AudioIO
import DatasetFormat
import Foundation

/// Where the splits of a corpus come from.
public enum SplitSource: String, Sendable, Codable, CaseIterable {
    /// `validation_list.txt` and `testing_list.txt` (everything else is training).
    case listFiles = "list-files"
    /// The official hash rule (`SplitRule.official`).
    case hashRule = "hash-rule"
}

/// One keyword utterance of a corpus.
public struct Utterance: Sendable, Codable, Equatable {
    /// Path relative to the corpus root, e.g. `yes/0a7c2a8d_nohash_0.wav`.
    public let path: String
    public let word: String
    public let speaker: String
    /// The `<n>` of `<speaker>_nohash_<n>.wav`.
    public let utteranceIndex: Int
    public let split: Split
    public let frames: Int
    public let sampleRate: Int

    enum CodingKeys: String, CodingKey {
        case path, word, speaker, split, frames
        case utteranceIndex = "utterance_index"
        case sampleRate = "sample_rate"
    }
}

/// One file of `_background_noise_/` (or another noise folder).
public struct NoiseFileInfo: Sendable, Codable, Equatable {
    /// Path relative to the corpus root.
    public let path: String
    public let frames: Int
    public let sampleRate: Int
    public let channels: Int
    public var durationSeconds: Double { Double(frames) / Double(sampleRate) }

    enum CodingKeys: String, CodingKey {
        case path, frames, channels
        case sampleRate = "sample_rate"
        case durationSeconds = "duration_seconds"
    }

    public init(path: String, frames: Int, sampleRate: Int, channels: Int) {
        self.path = path
        self.frames = frames
        self.sampleRate = sampleRate
        self.channels = channels
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        frames = try c.decode(Int.self, forKey: .frames)
        sampleRate = try c.decode(Int.self, forKey: .sampleRate)
        channels = try c.decode(Int.self, forKey: .channels)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(frames, forKey: .frames)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(channels, forKey: .channels)
        try c.encode(durationSeconds, forKey: .durationSeconds)
    }
}

/// Something wrong with a corpus file. Problems are reported, not fatal (unless `--strict`).
public struct CorpusProblem: Error, Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// libsndfile cannot read it (not audio, truncated, corrupt).
        case unreadable
        /// Its sample rate is not the corpus rate.
        case wrongSampleRate = "wrong_sample_rate"
        /// More than one channel.
        case wrongChannels = "wrong_channels"
        /// Zero frames.
        case empty
        /// Longer than the longest clip allowed (1 s in Speech Commands, 30 s in FSD50K).
        case tooLong = "too_long"
        /// Shorter than the shortest clip allowed (0.3 s in FSD50K).
        case tooShort = "too_short"
        /// A file or folder whose name does not follow the layout.
        case unexpectedName = "unexpected_name"
        /// A list file names a file that is not there.
        case missingListedFile = "missing_listed_file"
        /// A list file puts a file in another split than the official rule does.
        case listDisagreesWithRule = "list_disagrees_with_rule"
    }

    /// Path relative to the corpus root.
    public let path: String
    public let kind: Kind
    public let detail: String

    /// Reads a clip's header and checks it is mono at `rate` with a length in `frames`: the header, or the
    /// problem (unreadable, empty, wrong rate or channels, too long or too short) naming `path`.
    static func checkHeader(
        _ url: URL, path: String, rate: Int, frames: ClosedRange<Int>
    ) -> Result<
        AudioInfo, CorpusProblem
    > {
        func problem(_ kind: Kind, _ detail: String) -> Result<AudioInfo, CorpusProblem> {
            .failure(CorpusProblem(path: path, kind: kind, detail: detail))
        }
        let info: AudioInfo
        do { info = try AudioReader.info(url) } catch AudioError.empty {
            return problem(.empty, "zero frames")
        } catch {
            return problem(.unreadable, "\(error)")
        }
        if info.sampleRate != rate { return problem(.wrongSampleRate, "\(info.sampleRate) Hz; expected \(rate) Hz") }
        if info.channels != 1 { return problem(.wrongChannels, "\(info.channels) channels; expected 1") }
        if info.frames > frames.upperBound {
            return problem(.tooLong, "\(info.frames) frames; expected at most \(frames.upperBound)")
        }
        if info.frames < frames.lowerBound {
            return problem(.tooShort, "\(info.frames) frames; expected at least \(frames.lowerBound)")
        }
        return .success(info)
    }
}

/// The result of scanning a corpus folder (`tkd corpus index`).
public struct CorpusIndex: Sendable, Codable, Equatable {
    /// The folder, as given.
    public let root: String
    public let version: CorpusVersion
    public let splitSource: SplitSource
    /// The sample rate clips are expected to have.
    public let sampleRate: Int
    /// Word folders found, sorted.
    public let words: [String]
    /// Readable, well-named utterances, sorted by path (problem files are left out).
    public let utterances: [Utterance]
    /// Noise files, sorted by path.
    public let noise: [NoiseFileInfo]
    public let problems: [CorpusProblem]

    enum CodingKeys: String, CodingKey {
        case root, version, words, utterances, noise, problems
        case splitSource = "split_source"
        case sampleRate = "sample_rate"
    }

    /// Utterance counts per word and split.
    public func counts() -> [String: [Split: Int]] {
        var out: [String: [Split: Int]] = [:]
        for u in utterances { out[u.word, default: [:]][u.split, default: 0] += 1 }
        return out
    }

    /// Distinct speakers per split.
    public func speakers() -> [Split: Set<String>] {
        var out: [Split: Set<String>] = [:]
        for u in utterances { out[u.split, default: []].insert(u.speaker) }
        return out
    }

    /// Total duration of the utterances, in seconds.
    public var totalSeconds: Double {
        utterances.reduce(0) { $0 + Double($1.frames) / Double($1.sampleRate) }
    }
}
