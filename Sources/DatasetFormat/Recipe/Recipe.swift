import Foundation
import TKDCore

/// A generation recipe (`Recipes/*.yaml`, schema in `Recipes/README.md`), with every default filled in.
/// `Codable` gives the resolved form written into `dataset.json`.
public struct Recipe: Sendable, Equatable, Codable {
    public var version = 1
    public var name: String
    public var description: String?
    public var seed: UInt64
    public var corpus: CorpusSpec
    public var task: TaskSpec
    public var variants: [VariantSpec]
    public var placement: PlacementSpec
    public var noise: NoiseSpec
    public var level: LevelSpec
    public var speechActivity: SpeechActivitySpec
    public var output: OutputSpec
    public var onBadInput: BadInputPolicy

    enum CodingKeys: String, CodingKey {
        case version, name, description, seed, corpus, task, variants, placement, noise, level, output
        case speechActivity = "speech_activity"
        case onBadInput = "on_bad_input"
    }

    public struct CorpusSpec: Sendable, Equatable, Codable {
        /// The release the recipe expects (`v1` or `v2`); checked against the corpus.
        public var version: CorpusVersion
        /// `list-files` (must exist), `hash-rule` (ignore any list files), or `auto`.
        public var splits: SplitChoice
        public var sampleRate: Int

        public enum SplitChoice: String, Sendable, Codable, CaseIterable, ChoiceOption {
            case listFiles = "list-files", hashRule = "hash-rule", auto
        }

        enum CodingKeys: String, CodingKey {
            case version, splits
            case sampleRate = "sample_rate"
        }
    }

    public struct TaskSpec: Sendable, Equatable, Codable {
        /// `speech_commands_12`, `speech_commands_35` or `words`.
        public var labels: String
        /// The keyword classes, in label-index order after any `_silence_`/`_unknown_`.
        public var words: [String]
        /// Words whose clips feed `_unknown_` (empty: no `_unknown_` class).
        public var unknownWords: [String]
        /// `_unknown_` examples per split, as a fraction of that split's keyword examples.
        public var unknownShare: Double
        /// `_silence_` examples per split, as a fraction of that split's keyword examples.
        public var silenceShare: Double
        /// At most this many keyword clips per split (the first by a seeded order); nil = all.
        public var maxKeywordsPerSplit: Int?

        enum CodingKeys: String, CodingKey {
            case labels, words
            case unknownWords = "unknown_words"
            case unknownShare = "unknown_share"
            case silenceShare = "silence_share"
            case maxKeywordsPerSplit = "max_keywords_per_split"
        }

        public static let silenceLabel = "_silence_"
        public static let unknownLabel = "_unknown_"

        /// The label list: `_silence_`, `_unknown_` (each when present), then the words — kws_streaming's order.
        public var labelNames: [String] {
            (silenceShare > 0 ? [Self.silenceLabel] : []) + (hasUnknown ? [Self.unknownLabel] : []) + words
        }

        public var hasUnknown: Bool { unknownShare > 0 && !unknownWords.isEmpty }
    }

    public struct VariantSpec: Sendable, Equatable, Codable {
        public var name: String
        /// Example length in seconds (a constant for the paper's fixed-length variants).
        public var lengthSeconds: Distribution

        enum CodingKeys: String, CodingKey {
            case name
            case lengthSeconds = "length_seconds"
        }
    }

    public struct PlacementSpec: Sendable, Equatable, Codable {
        /// `uniform`: every integer sample offset that keeps the 1-s clip inside the example is equally
        /// likely. Otherwise a distribution over [0, 1], the fraction of the free range.
        public var onset: OnsetRule

        public enum OnsetRule: Sendable, Equatable, Codable {
            case uniform
            case fraction(Distribution)
        }

        enum CodingKeys: String, CodingKey { case onset }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch onset {
            case .uniform: try c.encode("uniform", forKey: .onset)
            case let .fraction(d): try c.encode(d, forKey: .onset)
            }
        }

        public init(onset: OnsetRule) { self.onset = onset }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let s = try? c.decode(String.self, forKey: .onset), s == "uniform" {
                onset = .uniform
            } else {
                onset = .fraction(try c.decode(Distribution.self, forKey: .onset))
            }
        }
    }

    public struct NoiseSpec: Sendable, Equatable, Codable {
        /// Noise sources: `background_noise` (the corpus's `_background_noise_/`) and/or folders
        /// (absolute, or relative to the recipe file as written; resolved paths are used at run time).
        public var sources: [String]
        /// Fractions of every noise file given to each split, in the order training, validation,
        /// testing along the file (disjoint regions).
        public var regions: [String: Double]
        /// Crossfade when a region is shorter than the example and is looped (equal-power).
        public var crossfadeSeconds: Double

        public static let corpusBackground = "background_noise"

        enum CodingKeys: String, CodingKey {
            case sources, regions
            case crossfadeSeconds = "crossfade_seconds"
        }
    }

    public struct LevelSpec: Sendable, Equatable, Codable {
        /// Target SNR in dB.
        public var snrDB: Distribution
        public var snrDefinition: SNRDefinition
        /// Gain applied to the keyword clip before mixing.
        public var keywordGainDB: Distribution
        /// Gain applied to the noise of `_silence_` examples.
        public var silenceGainDB: Distribution
        /// When the mix's peak exceeds this, the whole example is scaled down to it (recorded as `scale`).
        public var maxPeak: Double

        enum CodingKeys: String, CodingKey {
            case snrDB = "snr_db"
            case snrDefinition = "snr_definition"
            case keywordGainDB = "keyword_gain_db"
            case silenceGainDB = "silence_gain_db"
            case maxPeak = "max_peak"
        }
    }

    public enum SNRDefinition: String, Sendable, Codable, CaseIterable, ChoiceOption {
        /// RMS of the keyword's speech-active span over the RMS of the noise on the same span.
        case speechActive = "speech_active"
        /// RMS of the whole 1-s keyword clip over the RMS of the noise on the same second.
        case wholeClip = "whole_clip"
    }

    public struct SpeechActivitySpec: Sendable, Equatable, Codable {
        public var frameSeconds: Double
        public var thresholdDB: Double
        public var marginSeconds: Double

        enum CodingKeys: String, CodingKey {
            case frameSeconds = "frame_seconds"
            case thresholdDB = "threshold_db"
            case marginSeconds = "margin_seconds"
        }
    }

    public struct OutputSpec: Sendable, Equatable, Codable {
        public var format: AudioFormat
    }

    public enum BadInputPolicy: String, Sendable, Codable, CaseIterable, ChoiceOption {
        /// Stop with an error naming the input.
        case fail
        /// Leave the example out and record why in `dataset.json` (`skipped`).
        case skip
    }

    /// The 12 labels of kws_streaming's Speech Commands task after `_silence_` and `_unknown_`.
    public static let speechCommands12 = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]

    /// The variant called `name`.
    public func variant(_ name: String) -> VariantSpec? { variants.first { $0.name == name } }
}
