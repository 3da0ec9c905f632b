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
    public var variant: Recipe.VariantSpec
    /// The resolved recipe (every default filled in).
    public var recipe: Recipe
    /// Label names in label-index order.
    public var labels: [String]
    public var sampleRate: Int
    /// False after `--plan-only` until `tkd render` has written the audio.
    public var audioRendered: Bool
    public var corpus: CorpusSummary
    /// Every noise file the recipe drew from, with its per-split regions.
    public var noiseFiles: [NoisePool.File]
    /// How `Mixer` renders a record (documentation for re-implementers).
    public var renderer: [String: String]
    /// Examples per split and label.
    public var counts: [String: [String: Int]]
    /// Examples per split.
    public var totals: [String: Int]
    /// Examples left out under `on_bad_input: skip`, with the reason.
    public var skipped: [Skip]

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
    }

    public struct Skip: Sendable, Equatable, Codable {
        public var id: String
        public var split: String
        public var reason: String
    }

    enum CodingKeys: String, CodingKey {
        case format, tool, name, variant, recipe, labels, corpus, renderer, counts, totals, skipped
        case sampleRate = "sample_rate"
        case audioRendered = "audio_rendered"
        case noiseFiles = "noise_files"
    }

    public static let rendererDescription: [String: String] = [
        "mix": "sum over noise segments in manifest order of source[source_start_sample + i] * 10^(gain_db/20) * fades, placed at dest_start_sample; then the keyword clip (zero-padded at the end to one second) * 10^(keyword.gain_db/20) added at keyword.onset_sample; everything * scale; float32 arithmetic",
        "crossfade": "equal-power: fade-in weight sin(pi/2 * (i + 0.5) / n) over the first fade_in_samples, fade-out weight cos(pi/2 * (i + 0.5) / n) over the last fade_out_samples",
        "quantisation": "round half to even of x * 2^(bits-1), saturated (PCM16: x * 32768)",
        "snr_db_achieved": "20*log10(rms(keyword component)/rms(noise component)) over the speech-active span (speech_active) or the one-second clip window (whole_clip), before scale and quantisation",
    ]

    /// Loads `DIR/dataset.json`.
    public static func load(_ dataset: URL) throws -> DatasetInfo {
        let url = dataset.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw GenerateError.manifestMissing(path: url.path) }
        do { return try JSONDecoder().decode(DatasetInfo.self, from: data) } catch {
            throw GenerateError.manifestMissing(path: "\(url.path) (unreadable: \(error))")
        }
    }

    /// Reads `DIR/manifests/<split>.jsonl` for every split.
    public static func loadManifests(_ dataset: URL) throws -> [ExampleRecord] {
        var out: [ExampleRecord] = []
        for split in Split.allCases {
            let url = dataset.appendingPathComponent("manifests/\(split.rawValue).jsonl")
            guard let data = FileManager.default.contents(atPath: url.path) else { throw GenerateError.manifestMissing(path: url.path) }
            out += try CanonicalJSON.decodeLines(ExampleRecord.self, from: data, path: url.path)
        }
        return out
    }
}
