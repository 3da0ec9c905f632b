import Foundation
import TKDCore

/// A recipe that turns a labelled clip corpus (FSD50K) into datasets (`kind: fsd50k`; schema in
/// `Recipes/README.md`, "Clip recipes"), with every default filled in. `tkd generate` reads it like a Speech
/// Commands recipe: each clip is resampled to `output.sample_rate` and cut into examples by a variant's clip
/// handling — one fixed-length crop/pad, 1-s patches (evaluated per clip by averaging), or the whole clip.
public struct ClipRecipe: Sendable, Equatable, Codable {
    public var version = 1
    /// The corpus kind: `fsd50k`.
    public var kind: Kind
    public var name: String
    public var description: String?
    public var seed: UInt64
    public var corpus: CorpusSpec
    public var output: OutputSpec
    public var variants: [Variant]
    public var onBadInput: Recipe.BadInputPolicy

    public enum Kind: String, Sendable, Codable, CaseIterable, ChoiceOption {
        case fsd50k
    }

    enum CodingKeys: String, CodingKey {
        case version, kind, name, description, seed, corpus, output, variants
        case onBadInput = "on_bad_input"
    }

    public struct CorpusSpec: Sendable, Equatable, Codable {
        /// The corpus's rate (FSD50K: 44100); a clip at another rate is a problem.
        public var sampleRate: Int
        /// At most this many clips per split (the first by a seeded order); nil = all.
        public var maxClipsPerSplit: Int?

        enum CodingKeys: String, CodingKey {
            case sampleRate = "sample_rate"
            case maxClipsPerSplit = "max_clips_per_split"
        }
    }

    /// libsamplerate's converters, by the names `AudioIO.ResampleQuality` uses.
    public enum ResampleQualityName: String, Sendable, Codable, CaseIterable, ChoiceOption {
        case sincBest = "sinc-best", sincMedium = "sinc-medium", sincFastest = "sinc-fastest"
        case zeroOrderHold = "zero-order-hold", linear
    }

    public struct OutputSpec: Sendable, Equatable, Codable {
        public var sampleRate: Int
        /// The converter (default `sinc-best`: −76 dB from soxr VHQ, aliases suppressed 136 dB).
        public var resampleQuality: ResampleQualityName
        public var format: AudioFormat

        enum CodingKeys: String, CodingKey {
            case format
            case sampleRate = "sample_rate"
            case resampleQuality = "resample_quality"
        }
    }

    /// How a clip becomes examples.
    public struct ClipHandling: Sendable, Equatable, Codable {
        public var mode: Mode
        /// `crop_pad`: the example length; `patches`: the patch length (nil for `full`).
        public var seconds: Double?
        /// `patches`: the step between patch starts.
        public var hopSeconds: Double?
        /// `crop_pad`: where a longer clip is cut (`start`, `centre`, `random` — seeded per clip).
        public var crop: Crop?
        /// How a clip shorter than the length is filled: `zeros` at the end, or `repeat` the clip.
        public var pad: Pad?

        public enum Mode: String, Sendable, Codable, CaseIterable, ChoiceOption {
            /// One example of exactly `seconds` per clip.
            case cropPad = "crop_pad"
            /// Examples of `seconds` every `hop_seconds` (a last one ends at the clip's end), one clip id.
            case patches
            /// The whole clip, its own length (features and teacher caches; students need one length).
            case full
        }

        public enum Crop: String, Sendable, Codable, CaseIterable, ChoiceOption {
            case start, centre, random
        }

        public enum Pad: String, Sendable, Codable, CaseIterable, ChoiceOption {
            case zeros, `repeat`
        }

        enum CodingKeys: String, CodingKey {
            case mode, seconds, crop, pad
            case hopSeconds = "hop_seconds"
        }

        public init(mode: Mode, seconds: Double? = nil, hopSeconds: Double? = nil, crop: Crop? = nil, pad: Pad? = nil) {
            self.mode = mode
            self.seconds = seconds
            self.hopSeconds = hopSeconds
            self.crop = crop
            self.pad = pad
        }
    }

    public struct Variant: Sendable, Equatable, Codable {
        public var name: String
        public var clips: ClipHandling
    }

    /// The variant called `name`.
    public func variant(_ name: String) -> Variant? { variants.first { $0.name == name } }

    /// The `kind` of a recipe file, or nil for a Speech Commands recipe (no `kind` key).
    /// - Throws: `ConfigError` for unreadable YAML or an unknown kind.
    public static func kind(of url: URL) throws -> Kind? {
        let root = try YAMLValue.load(url)
        guard let k = root.value(forKey: "kind") else { return nil }
        return try k.option(Kind.self)
    }

    /// Loads and checks a clip recipe; unknown keys, wrong types and out-of-range values are rejected with the
    /// file, line and key named.
    /// - Throws: `ConfigError`.
    public static func load(_ url: URL) throws -> ClipRecipe { try parse(try YAMLValue.load(url)) }

    public static func parse(_ root: YAMLValue) throws -> ClipRecipe {
        let top = try root.mapping(
            allowed: [
                "version", "kind", "name", "description", "seed", "corpus", "output", "variants", "on_bad_input",
            ],
            required: ["version", "kind", "name", "variants"])
        let version = try top["version"]!.int()
        guard version == 1 else { throw top["version"]!.fail("unsupported recipe version \(version); expected 1") }
        let kind = try top["kind"]!.option(Kind.self)
        let name = try top["name"]!.string()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw top["name"]!.fail("'\(name)' must be letters, digits, '-', '_' or '.'")
        }
        let seedValue = try top["seed"].map { try $0.int() } ?? 0
        guard seedValue >= 0 else { throw top["seed"]!.fail("seed must be ≥ 0; got \(seedValue)") }

        var corpus = CorpusSpec(sampleRate: 44100, maxClipsPerSplit: nil)
        if let c = top["corpus"] {
            let m = try c.mapping(allowed: ["sample_rate", "max_clips_per_split"])
            if let v = m["sample_rate"] { corpus.sampleRate = try v.int(in: 1000...384_000) }
            if let v = m["max_clips_per_split"], !v.isNull { corpus.maxClipsPerSplit = try v.int(in: 1...Int.max) }
        }
        var output = OutputSpec(sampleRate: 16000, resampleQuality: .sincBest, format: .pcm16)
        if let o = top["output"] {
            let m = try o.mapping(allowed: ["sample_rate", "resample_quality", "format"])
            if let v = m["sample_rate"] { output.sampleRate = try v.int(in: 1000...192_000) }
            if let v = m["resample_quality"] { output.resampleQuality = try v.option(ResampleQualityName.self) }
            if let v = m["format"] { output.format = try v.option(AudioFormat.self) }
        }

        let list = try top["variants"]!.list()
        guard !list.isEmpty else { throw top["variants"]!.fail("needs at least one variant") }
        var variants: [Variant] = []
        for v in list {
            let m = try v.mapping(allowed: ["name", "clips"], required: ["name", "clips"])
            let vname = try m["name"]!.string()
            guard !vname.isEmpty, vname.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw m["name"]!.fail("'\(vname)' must be letters, digits, '-', '_' or '.' (it names a folder)")
            }
            guard !variants.contains(where: { $0.name == vname }) else {
                throw m["name"]!.fail("variant '\(vname)' is defined twice")
            }
            variants.append(Variant(name: vname, clips: try readClips(m["clips"]!)))
        }
        var policy = Recipe.BadInputPolicy.fail
        if let p = top["on_bad_input"] { policy = try p.option(Recipe.BadInputPolicy.self) }
        return ClipRecipe(
            version: version, kind: kind, name: name, description: try top["description"].map { try $0.string() },
            seed: UInt64(seedValue), corpus: corpus, output: output, variants: variants, onBadInput: policy)
    }

    static func readClips(_ value: YAMLValue) throws -> ClipHandling {
        let m = try value.mapping(allowed: ["mode", "seconds", "hop_seconds", "crop", "pad"], required: ["mode"])
        let mode = try m["mode"]!.option(ClipHandling.Mode.self)
        func refuse(_ keys: [String]) throws {
            for k in keys { if let v = m[k] { throw v.fail("'\(k)' does not apply to mode \(mode.rawValue)") } }
        }
        switch mode {
        case .full:
            try refuse(["seconds", "hop_seconds", "crop", "pad"])
            return ClipHandling(mode: .full)
        case .cropPad:
            try refuse(["hop_seconds"])
            guard let s = m["seconds"] else { throw value.fail("mode crop_pad needs 'seconds' (the example length)") }
            return ClipHandling(
                mode: .cropPad, seconds: try s.double(in: 0.1...600), hopSeconds: nil,
                crop: try m["crop"].map { try $0.option(ClipHandling.Crop.self) } ?? .start,
                pad: try m["pad"].map { try $0.option(ClipHandling.Pad.self) } ?? .zeros)
        case .patches:
            try refuse(["crop"])
            let seconds = try m["seconds"].map { try $0.double(in: 0.1...60) } ?? 1
            let hop = try m["hop_seconds"].map { try $0.double(in: 0.01...60) } ?? seconds / 2
            guard hop <= seconds else {
                throw m["hop_seconds"]!.fail(
                    "hop_seconds \(hop) is longer than the patch (\(seconds) s): audio would be skipped")
            }
            return ClipHandling(
                mode: .patches, seconds: seconds, hopSeconds: hop, crop: nil,
                pad: try m["pad"].map { try $0.option(ClipHandling.Pad.self) } ?? .repeat)
        }
    }
}
