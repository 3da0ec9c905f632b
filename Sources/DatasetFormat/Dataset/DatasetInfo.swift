import Foundation
import TKDCore

/// `dataset.json`: what a dataset folder is and how it was made (contract). No timestamps, no
/// machine-specific paths: the same inputs give the same bytes.
public struct DatasetInfo: Sendable, Equatable, Codable {
    public static let fileName = "dataset.json"
    public static let currentFormat = "tkd-dataset/1"

    public var format: String
    /// `tkd <version>` that wrote it.
    public var tool: String
    public var name: String
    /// The Speech Commands recipe's variant and the resolved recipe (every default filled in); nil in a clip
    /// dataset, which has `clip_recipe` and `clip_variant` instead.
    public var variant: Recipe.VariantSpec?
    public var recipe: Recipe?
    /// A clip dataset's recipe (`kind: fsd50k`) and variant (its clip handling).
    public var clipRecipe: ClipRecipe?
    public var clipVariant: ClipRecipe.Variant?
    /// A stream dataset's recipe (`kind: stream`): its manifests hold `StreamRecord`s, one per long recording.
    public var streamRecipe: StreamRecipe?
    /// A stream dataset's totals per split (streams, hours, events).
    public var streams: [String: StreamSplitSummary]?
    /// `multi_label` for datasets whose examples carry label sets (`labels` in the manifests; sigmoid heads,
    /// mAP); absent for single-label datasets.
    public var task: DatasetTask?
    /// Label names in label-index order.
    public var labels: [String]
    public var sampleRate: Int
    /// False after `--plan-only` until `tkd render` has written the audio.
    public var audioRendered: Bool
    public var corpus: CorpusSummary
    /// Every noise file the recipe drew from, with its per-split regions.
    public var noiseFiles: [NoiseFile]
    /// How `Mixer` renders a record (documentation for re-implementers).
    public var renderer: [String: String]
    /// Examples per split and label.
    public var counts: [String: [String: Int]]
    /// Examples per split.
    public var totals: [String: Int]
    /// Examples left out under `on_bad_input: skip`, with the reason.
    public var skipped: [Skip]
    /// Per split, how much distinct noise its examples use (absent in datasets of an earlier tkd).
    public var noiseUsage: [String: NoiseUsage]?

    public struct CorpusSummary: Sendable, Equatable, Codable {
        public var version: String
        public var splitSource: String
        /// SHA-256 over the sorted lines `<path>\t<sha256>\n` of every keyword clip and noise file used.
        public var fingerprint: String
        public var keywordSources: Int

        enum CodingKeys: String, CodingKey {
            case version, fingerprint
            case splitSource = "split_source"
            case keywordSources = "keyword_sources"
        }

        public init(version: String, splitSource: String, fingerprint: String, keywordSources: Int) {
            self.version = version
            self.splitSource = splitSource
            self.fingerprint = fingerprint
            self.keywordSources = keywordSources
        }
    }

    /// One noise file a recipe drew from, cut into disjoint per-split regions.
    public struct NoiseFile: Sendable, Equatable, Codable {
        /// The name recorded in manifests (corpus-relative for the corpus's own noise).
        public let source: String
        public let sha256: String
        /// Samples at the dataset rate.
        public let numSamples: Int
        public let nativeSampleRate: Int
        /// `[start, end)` per split.
        public let regions: [String: [Int]]

        enum CodingKeys: String, CodingKey {
            case source, sha256, regions
            case numSamples = "num_samples"
            case nativeSampleRate = "native_sample_rate"
        }

        public init(source: String, sha256: String, numSamples: Int, nativeSampleRate: Int, regions: [String: [Int]]) {
            self.source = source
            self.sha256 = sha256
            self.numSamples = numSamples
            self.nativeSampleRate = nativeSampleRate
            self.regions = regions
        }

        /// The region of `split`, or an empty range when dataset.json lacks or garbles it.
        public func region(_ split: Split) -> Range<Int> {
            guard let r = regions[split.rawValue], r.count == 2, r[0] <= r[1] else { return 0..<0 }
            return r[0]..<r[1]
        }
    }

    public struct Skip: Sendable, Equatable, Codable {
        public var id: String
        public var split: String
        public var reason: String

        public init(id: String, split: String, reason: String) {
            self.id = id
            self.split = split
            self.reason = reason
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, tool, name, variant, recipe, labels, corpus, renderer, counts, totals, skipped
        case sampleRate = "sample_rate"
        case audioRendered = "audio_rendered"
        case noiseFiles = "noise_files"
        case noiseUsage = "noise_usage"
        case clipRecipe = "clip_recipe", clipVariant = "clip_variant", task
        case streamRecipe = "stream_recipe", streams
    }

    /// Whether the dataset holds long streams (`StreamRecord`s) rather than clips.
    public var isStream: Bool { streamRecipe != nil }

    /// Whether examples carry label sets (`task: multi_label`).
    public var isMultiLabel: Bool { task == .multiLabel }

    /// The variant's name, whichever kind of recipe made the dataset.
    public var variantName: String { variant?.name ?? clipVariant?.name ?? (isStream ? "streams" : "") }

    /// The audio format of the dataset's examples.
    public var audioFormat: AudioFormat {
        recipe?.output.format ?? clipRecipe?.output.format ?? streamRecipe?.output.format ?? .pcm16
    }

    public static let rendererDescription: [String: String] = [
        "mix":
            "sum over noise segments in manifest order of source[source_start_sample + i] * 10^(gain_db/20) * "
            + "fades, placed at dest_start_sample; then the keyword clip (zero-padded at the end to one second) "
            + "* 10^(keyword.gain_db/20) added at keyword.onset_sample; everything * scale; float32 arithmetic",
        "crossfade":
            "equal-power: fade-in weight sin(pi/2 * (i + 0.5) / n) over the first fade_in_samples, fade-out weight "
            + "cos(pi/2 * (i + 0.5) / n) over the last fade_out_samples",
        "quantisation": "round half to even of x * 2^(bits-1), saturated (PCM16: x * 32768)",
        "snr_db_achieved":
            "20*log10(rms(keyword component)/rms(noise component)) over the speech-active span (speech_active) or "
            + "the one-second clip window (whole_clip), before scale and quantisation",
    ]

    public init(
        format: String = DatasetInfo.currentFormat, tool: String = "tkd \(TKDVersion.current)", name: String,
        variant: Recipe.VariantSpec?, recipe: Recipe?, labels: [String], sampleRate: Int, audioRendered: Bool,
        corpus: CorpusSummary, noiseFiles: [NoiseFile], renderer: [String: String] = DatasetInfo.rendererDescription,
        counts: [String: [String: Int]], totals: [String: Int], skipped: [Skip],
        noiseUsage: [String: NoiseUsage]? = nil,
        clipRecipe: ClipRecipe? = nil, clipVariant: ClipRecipe.Variant? = nil, task: DatasetTask? = nil,
        streamRecipe: StreamRecipe? = nil, streams: [String: StreamSplitSummary]? = nil
    ) {
        self.format = format
        self.tool = tool
        self.name = name
        self.variant = variant
        self.recipe = recipe
        self.labels = labels
        self.sampleRate = sampleRate
        self.audioRendered = audioRendered
        self.corpus = corpus
        self.noiseFiles = noiseFiles
        self.renderer = renderer
        self.counts = counts
        self.totals = totals
        self.skipped = skipped
        self.noiseUsage = noiseUsage
        self.clipRecipe = clipRecipe
        self.clipVariant = clipVariant
        self.task = task
        self.streamRecipe = streamRecipe
        self.streams = streams
    }
}

/// One split of a stream dataset: how many streams, how long, how many events of each kind.
public struct StreamSplitSummary: Sendable, Equatable, Codable {
    public var streams: Int
    public var seconds: Double
    /// Seconds of streams without a target keyword (the false-accept hours).
    public var negativeSeconds: Double
    public var targets: Int
    public var distractors: Int
    /// Seconds of noise bed that repeat a source sample used earlier in the same stream (looping).
    public var repeatedNoiseSeconds: Double

    enum CodingKeys: String, CodingKey {
        case streams, seconds, targets, distractors
        case negativeSeconds = "negative_seconds"
        case repeatedNoiseSeconds = "repeated_noise_seconds"
    }

    public init(
        streams: Int, seconds: Double, negativeSeconds: Double, targets: Int, distractors: Int,
        repeatedNoiseSeconds: Double
    ) {
        self.streams = streams
        self.seconds = seconds
        self.negativeSeconds = negativeSeconds
        self.targets = targets
        self.distractors = distractors
        self.repeatedNoiseSeconds = repeatedNoiseSeconds
    }
}

/// What a dataset's labels mean.
public enum DatasetTask: String, Sendable, Codable, CaseIterable {
    /// One label per example (softmax, accuracy).
    case singleLabel = "single_label"
    /// A set of labels per example (sigmoid + binary cross-entropy, mAP).
    case multiLabel = "multi_label"
}
