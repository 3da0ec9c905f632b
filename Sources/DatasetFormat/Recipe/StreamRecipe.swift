import Foundation
import TKDCore

/// A recipe for long test streams (`kind: stream`; schema in `Recipes/README.md`, "Stream recipes"), with every
/// default filled in: recordings of seconds to minutes, each a bed of the split's noise with target keywords and
/// distractor words at random times, every event's position recorded to the sample. `Codable` gives the resolved
/// form written into `dataset.json` (`stream_recipe`).
///
/// The corpus, task, noise, speech-activity and output sections read exactly as in a Speech Commands recipe, so a
/// stream set written with the training recipe's `task` has the training dataset's labels.
public struct StreamRecipe: Sendable, Equatable, Codable {
    public var version = 1
    public var kind: Kind
    public var name: String
    public var description: String?
    public var seed: UInt64
    public var corpus: Recipe.CorpusSpec
    /// Targets are the task's words; distractors are its `unknown_words` (every other corpus word by default).
    public var task: Recipe.TaskSpec
    /// The splits that get streams (each keeps its own speakers and noise region).
    public var splits: [Split]
    /// Stream groups, each made in every split of `splits`.
    public var streams: [Group]
    public var events: EventSpec
    public var silences: SilenceSpec?
    public var noise: Recipe.NoiseSpec
    public var level: LevelSpec
    public var speechActivity: Recipe.SpeechActivitySpec
    public var output: Recipe.OutputSpec

    public enum Kind: String, Sendable, Codable, CaseIterable, ChoiceOption {
        case stream
    }

    enum CodingKeys: String, CodingKey {
        case version, kind, name, description, seed, corpus, task, splits, streams, events, silences, noise, level
        case output
        case speechActivity = "speech_activity"
    }

    /// A group of streams alike: `count` per split, each `length_seconds` long with `targets` target keywords and
    /// `distractors` distractor words. A group with `targets: 0` is negative-only (false accepts per hour).
    public struct Group: Sendable, Equatable, Codable {
        public var name: String
        public var count: Int
        public var lengthSeconds: Distribution
        public var targets: Int
        public var distractors: Int

        enum CodingKeys: String, CodingKey {
            case name, count, targets, distractors
            case lengthSeconds = "length_seconds"
        }

        public init(name: String, count: Int, lengthSeconds: Distribution, targets: Int, distractors: Int) {
            self.name = name
            self.count = count
            self.lengthSeconds = lengthSeconds
            self.targets = targets
            self.distractors = distractors
        }

        /// Whether the group's streams hold no target keyword.
        public var isNegative: Bool { targets == 0 }
    }

    /// How events are placed and levelled.
    public struct EventSpec: Sendable, Equatable, Codable {
        /// The least time between two events' one-second clip windows (and between an event and a silence).
        public var minGapSeconds: Double
        /// The event's SNR in dB against the noise bed, by `snr_definition`.
        public var snrDB: Distribution
        public var snrDefinition: Recipe.SNRDefinition

        enum CodingKeys: String, CodingKey {
            case minGapSeconds = "min_gap_seconds"
            case snrDB = "snr_db"
            case snrDefinition = "snr_definition"
        }

        public init(minGapSeconds: Double, snrDB: Distribution, snrDefinition: Recipe.SNRDefinition) {
            self.minGapSeconds = minGapSeconds
            self.snrDB = snrDB
            self.snrDefinition = snrDefinition
        }
    }

    /// Stretches where the noise bed is muted (digital silence), `count` per stream; no event overlaps one.
    public struct SilenceSpec: Sendable, Equatable, Codable {
        public var count: Int
        public var lengthSeconds: Distribution

        enum CodingKeys: String, CodingKey {
            case count
            case lengthSeconds = "length_seconds"
        }

        public init(count: Int, lengthSeconds: Distribution) {
            self.count = count
            self.lengthSeconds = lengthSeconds
        }
    }

    public struct LevelSpec: Sendable, Equatable, Codable {
        /// Gain of each stream's noise bed, drawn once per stream (the events are levelled against it).
        public var noiseGainDB: Distribution
        /// When the mix's peak exceeds this, the whole stream is scaled down to it (recorded as `scale`).
        public var maxPeak: Double
        /// The least RMS an event may have on its SNR span, in dB full scale (before `scale`): where the bed is so
        /// quiet there that the drawn SNR would put the event near the file's quantisation, its gain is raised to
        /// this and its SNR is higher than drawn (`snr_db_achieved` records it).
        public var minEventDBFS: Double

        enum CodingKeys: String, CodingKey {
            case noiseGainDB = "noise_gain_db"
            case maxPeak = "max_peak"
            case minEventDBFS = "min_event_dbfs"
        }

        public init(noiseGainDB: Distribution, maxPeak: Double, minEventDBFS: Double = -45) {
            self.noiseGainDB = noiseGainDB
            self.maxPeak = maxPeak
            self.minEventDBFS = minEventDBFS
        }
    }

    /// The longest stream a recipe may ask for, in seconds (an hour).
    public static let maxStreamSeconds = 3600.0

    /// The label list, as the Speech Commands recipe with the same task (`_silence_`, `_unknown_`, the words).
    public var labelNames: [String] { task.labelNames }

    /// The label distractors carry: `_unknown_` when the task has that class, else none (they are unlabelled).
    public var distractorLabel: String? { task.hasUnknown ? Recipe.TaskSpec.unknownLabel : nil }

    /// Whether the file is a stream recipe (`kind: stream`).
    public static func isStreamRecipe(_ url: URL) throws -> Bool {
        let root = try YAMLValue.load(url)
        guard let k = root.value(forKey: "kind"), (try? k.string()) == Kind.stream.rawValue else { return false }
        return true
    }

    /// Loads and checks a stream recipe; unknown keys, wrong types, out-of-range values and streams whose events
    /// cannot fit are rejected with the file, line and key named.
    /// - Throws: `ConfigError`.
    public static func load(_ url: URL) throws -> StreamRecipe { try parse(try YAMLValue.load(url)) }

    public static func parse(_ root: YAMLValue) throws -> StreamRecipe {
        let top = try root.mapping(
            allowed: [
                "version", "kind", "name", "description", "seed", "corpus", "task", "splits", "streams", "events",
                "silences", "noise", "level", "speech_activity", "output",
            ],
            required: ["version", "kind", "name", "streams"])
        let version = try Recipe.parseVersion(top["version"]!)
        let kind = try top["kind"]!.option(Kind.self)
        let name = try Recipe.parseName(top["name"]!)
        let seed = try Recipe.parseSeed(top["seed"])
        let corpus = try Recipe.parseCorpus(top["corpus"])
        let task = try Recipe.parseTask(top["task"], corpus: corpus)

        var splits = Split.allCases
        if let s = top["splits"] {
            let items = try s.list()
            splits = try items.map { try $0.option(Split.self) }
            guard !splits.isEmpty else { throw s.fail("needs at least one split") }
            guard Set(splits).count == splits.count else { throw s.fail("a split is listed twice") }
            splits = Split.allCases.filter(splits.contains)
        }

        var events = EventSpec(minGapSeconds: 1, snrDB: .uniform(min: 0, max: 20), snrDefinition: .speechActive)
        if let e = top["events"] {
            let m = try e.mapping(allowed: ["min_gap_seconds", "snr_db", "snr_definition"])
            if let v = m["min_gap_seconds"] { events.minGapSeconds = try v.double(in: 0...600) }
            if let v = m["snr_db"] { events.snrDB = try Distribution.read(v, domain: -60...60) }
            if let v = m["snr_definition"] { events.snrDefinition = try v.option(Recipe.SNRDefinition.self) }
        }

        var silences: SilenceSpec?
        if let s = top["silences"], !s.isNull {
            let m = try s.mapping(allowed: ["count", "length_seconds"], required: ["count", "length_seconds"])
            silences = SilenceSpec(
                count: try m["count"]!.int(in: 0...10_000),
                lengthSeconds: try Distribution.read(m["length_seconds"]!, domain: 0.1...600))
        }

        let streamList = try top["streams"]!.list()
        guard !streamList.isEmpty else { throw top["streams"]!.fail("needs at least one stream group") }
        var groups: [Group] = []
        for g in streamList {
            let m = try g.mapping(
                allowed: ["name", "count", "length_seconds", "targets", "distractors"],
                required: ["name", "count", "length_seconds"])
            let gname = try m["name"]!.string()
            guard !gname.isEmpty, gname.allSatisfy({ $0.isLetter || $0.isNumber || "-".contains($0) }) else {
                throw m["name"]!.fail("'\(gname)' must be letters, digits or '-' (it starts every stream's id)")
            }
            guard !groups.contains(where: { $0.name == gname }) else {
                throw m["name"]!.fail("stream group '\(gname)' is defined twice")
            }
            let group = Group(
                name: gname, count: try m["count"]!.int(in: 1...100_000),
                lengthSeconds: try Distribution.read(m["length_seconds"]!, domain: 1...maxStreamSeconds),
                targets: try m["targets"].map { try $0.int(in: 0...100_000) } ?? 0,
                distractors: try m["distractors"].map { try $0.int(in: 0...100_000) } ?? 0)
            // The events and silences must fit the shortest stream the length can give, with every gap.
            let shortest = group.lengthSeconds.bounds.lowerBound
            let items = group.targets + group.distractors + (silences?.count ?? 0)
            let longestSilence = silences?.lengthSeconds.bounds.upperBound ?? 0
            let need =
                Double(group.targets + group.distractors) + Double(silences?.count ?? 0) * longestSilence
                + Double(max(0, items - 1)) * events.minGapSeconds
            guard need <= shortest else {
                throw g.fail(
                    "its events cannot fit: \(group.targets + group.distractors) one-second events"
                        + (silences.map { " and \($0.count) silences of up to \(longestSilence) s" } ?? "")
                        + " with \(events.minGapSeconds)-s gaps need \(need) s; the stream may be \(shortest) s long")
            }
            if group.distractors > 0 && !task.hasUnknown && task.unknownWords.isEmpty {
                throw m["distractors"]!.fail("needs distractor words; the task has no unknown_words")
            }
            groups.append(group)
        }
        guard groups.contains(where: { !$0.isNegative }) || groups.contains(where: { $0.distractors > 0 }) else {
            throw top["streams"]!.fail("no group has targets or distractors; expected at least one event")
        }

        let noise = try Recipe.parseNoise(top["noise"])
        var level = LevelSpec(noiseGainDB: .const(0), maxPeak: 0.99)
        if let l = top["level"] {
            let m = try l.mapping(allowed: ["noise_gain_db", "max_peak", "min_event_dbfs"])
            if let v = m["noise_gain_db"] { level.noiseGainDB = try Distribution.read(v, domain: -60...40) }
            if let v = m["max_peak"] { level.maxPeak = try v.double(in: 0.01...1) }
            if let v = m["min_event_dbfs"] { level.minEventDBFS = try v.double(in: -90...0) }
        }
        return StreamRecipe(
            version: version, kind: kind, name: name, description: try top["description"].map { try $0.string() },
            seed: seed, corpus: corpus, task: task, splits: splits, streams: groups, events: events,
            silences: silences, noise: noise, level: level,
            speechActivity: try Recipe.parseSpeechActivity(top["speech_activity"]),
            output: try Recipe.parseOutput(top["output"]))
    }
}
