import Foundation
import TKDCore

extension Recipe {
    /// Loads and checks a recipe file. Unknown keys, wrong types and out-of-range values are rejected
    /// with the file, line and key named.
    /// - Throws: `ConfigError`.
    public static func load(_ url: URL) throws -> Recipe {
        try parse(try YAMLValue.load(url))
    }

    public static func parse(_ root: YAMLValue) throws -> Recipe {
        let top = try root.mapping(
            allowed: [
                "version", "name", "description", "seed", "corpus", "task", "variants", "placement", "noise",
                "level", "speech_activity", "output", "on_bad_input",
            ],
            required: ["version", "name", "variants"])
        let version = try parseVersion(top["version"]!)
        let name = try parseName(top["name"]!)
        let seedValue = try parseSeed(top["seed"])
        let corpus = try parseCorpus(top["corpus"])
        let task = try parseTask(top["task"], corpus: corpus)

        // variants
        let variantList = try top["variants"]!.list()
        guard !variantList.isEmpty else { throw top["variants"]!.fail("needs at least one variant") }
        var variants: [VariantSpec] = []
        for v in variantList {
            let m = try v.mapping(allowed: ["name", "length_seconds"], required: ["name", "length_seconds"])
            let vname = try m["name"]!.string()
            guard !vname.isEmpty, vname.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw m["name"]!.fail("'\(vname)' must be letters, digits, '-', '_' or '.' (it names a folder)")
            }
            guard !variants.contains(where: { $0.name == vname }) else {
                throw m["name"]!.fail("variant '\(vname)' is defined twice")
            }
            let length = try Distribution.read(m["length_seconds"]!, domain: 1...3600)
            variants.append(VariantSpec(name: vname, lengthSeconds: length))
        }

        // placement
        var placement = PlacementSpec(onset: .uniform)
        if let p = top["placement"] {
            let m = try p.mapping(allowed: ["onset"])
            if let o = m["onset"] {
                if !o.isMapping, let s = try? o.string(), s == "uniform" {
                    placement.onset = .uniform
                } else if !o.isMapping {
                    throw o.fail("expected 'uniform' or a distribution over [0, 1] (fraction of the free range)")
                } else {
                    placement.onset = .fraction(try Distribution.read(o, domain: 0...1))
                }
            }
        }

        let noise = try parseNoise(top["noise"])
        let level = try parseLevel(top["level"])
        let activity = try parseSpeechActivity(top["speech_activity"])
        let output = try parseOutput(top["output"])
        var policy = BadInputPolicy.fail
        if let p = top["on_bad_input"] { policy = try p.option(BadInputPolicy.self) }

        return Recipe(
            version: version, name: name, description: try top["description"].map { try $0.string() },
            seed: seedValue, corpus: corpus, task: task, variants: variants, placement: placement,
            noise: noise, level: level, speechActivity: activity, output: output, onBadInput: policy)
    }

    /// `version: 1`.
    static func parseVersion(_ v: YAMLValue) throws -> Int {
        let version = try v.int()
        guard version == 1 else { throw v.fail("unsupported recipe version \(version); expected 1") }
        return version
    }

    /// A recipe's `name`: letters, digits, '-', '_' or '.'.
    static func parseName(_ v: YAMLValue) throws -> String {
        let name = try v.string()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw v.fail("'\(name)' must be letters, digits, '-', '_' or '.'")
        }
        return name
    }

    /// `seed` (default 0), ≥ 0.
    static func parseSeed(_ v: YAMLValue?) throws -> UInt64 {
        let seedValue = try v.map { try $0.int() } ?? 0
        guard seedValue >= 0 else { throw v!.fail("seed must be ≥ 0; got \(seedValue)") }
        return UInt64(seedValue)
    }

    /// The `corpus` section, defaults filled in.
    static func parseCorpus(_ c: YAMLValue?) throws -> CorpusSpec {
        var corpus = CorpusSpec(version: .v2, splits: .auto, sampleRate: 16000)
        if let c {
            let m = try c.mapping(allowed: ["version", "splits", "sample_rate"])
            if let v = m["version"] { corpus.version = try v.option(CorpusVersion.self) }
            if let v = m["splits"] { corpus.splits = try v.option(CorpusSpec.SplitChoice.self) }
            if let v = m["sample_rate"] { corpus.sampleRate = try v.int(in: 1000...192_000) }
        }
        return corpus
    }

    /// The `task` section, defaults filled in; `unknown_words: rest` resolves against the corpus version.
    static func parseTask(_ t: YAMLValue?, corpus: CorpusSpec) throws -> TaskSpec {
        var task = TaskSpec(
            labels: "speech_commands_12", words: speechCommands12, unknownWords: [], unknownShare: 0.1,
            silenceShare: 0.1, maxKeywordsPerSplit: nil)
        var unknownChoice: YAMLValue?
        if let t {
            let m = try t.mapping(allowed: [
                "labels", "words", "unknown_words", "unknown_share", "silence_share", "max_keywords_per_split",
            ])
            if let v = m["labels"] {
                task.labels = try v.choice(["speech_commands_12", "speech_commands_35", "words"])
            }
            switch task.labels {
            case "speech_commands_12":
                if let w = m["words"] {
                    throw w.fail("words are fixed by labels: speech_commands_12; use labels: words for your own list")
                }
                task.words = speechCommands12
            case "speech_commands_35":
                if let w = m["words"] {
                    throw w.fail("words are fixed by labels: speech_commands_35; use labels: words for your own list")
                }
                task.words = SpeechCommands.wordsV2.sorted()
                task.unknownShare = 0
            default:
                guard let w = m["words"] else { throw t.fail("labels: words needs a 'words' list") }
                task.words = try w.list().map { try $0.string() }
                guard !task.words.isEmpty else { throw w.fail("needs at least one word") }
                guard Set(task.words).count == task.words.count else { throw w.fail("a word is listed twice") }
            }
            unknownChoice = m["unknown_words"]
            if let v = m["unknown_share"] { task.unknownShare = try v.double(in: 0...10) }
            if let v = m["silence_share"] { task.silenceShare = try v.double(in: 0...10) }
            if let v = m["max_keywords_per_split"], !v.isNull { task.maxKeywordsPerSplit = try v.int(in: 1...Int.max) }
        } else if task.labels == "speech_commands_12" {
            task.words = speechCommands12
        }
        // unknown_words: "rest" (every other word of the corpus, resolved against the corpus) or a list.
        if let u = unknownChoice, u.isList {
            task.unknownWords = try u.list().map { try $0.string() }
            if let clash = task.unknownWords.first(where: task.words.contains) {
                throw u.fail("'\(clash)' is both a keyword and an unknown word")
            }
        } else {
            if let u = unknownChoice { _ = try u.choice(["rest"]) }
            let all = corpus.version == .v2 ? SpeechCommands.wordsV2 : SpeechCommands.wordsV1
            task.unknownWords = all.filter { !task.words.contains($0) }.sorted()
        }
        return task
    }

    /// The `noise` section, defaults filled in.
    static func parseNoise(_ n: YAMLValue?) throws -> NoiseSpec {
        var noise = NoiseSpec(
            sources: [NoiseSpec.corpusBackground],
            regions: ["training": 0.6, "validation": 0.2, "testing": 0.2], crossfadeSeconds: 0.05)
        if let n {
            let m = try n.mapping(allowed: ["sources", "regions", "crossfade_seconds"])
            if let s = m["sources"] {
                let items = try s.list()
                noise.sources = try items.map { try $0.string() }
                guard !noise.sources.isEmpty else { throw s.fail("needs at least one source") }
                for (item, source) in zip(items, noise.sources) where source != NoiseSpec.corpusBackground {
                    // The folder is recorded in every manifest's noise sources, which re-render and verify
                    // resolve under --noise-base (relative) or only inside this recipe's folders (absolute).
                    if let why = ContainedPath.lexicalProblem(source, allowAbsolute: true) {
                        throw item.fail(
                            "'\(source)' is not a usable noise folder (\(why)); expected a folder below the recipe's "
                                + "folder or an absolute path without '..'")
                    }
                }
            }
            if let r = m["regions"] {
                let rm = try r.mapping(
                    allowed: Split.allCases.map(\.rawValue), required: Split.allCases.map(\.rawValue))
                for split in Split.allCases {
                    noise.regions[split.rawValue] = try rm[split.rawValue]!.double(in: 0...1)
                }
                let sum = noise.regions.values.reduce(0, +)
                guard abs(sum - 1) < 1e-9 else { throw r.fail("fractions must sum to 1; they sum to \(sum)") }
                for split in Split.allCases where noise.regions[split.rawValue]! <= 0 {
                    throw rm[split.rawValue]!.fail("every split needs a positive share of the noise")
                }
            }
            if let c = m["crossfade_seconds"] { noise.crossfadeSeconds = try c.double(in: 0.001...10) }
        }
        return noise
    }

    /// The `level` section, defaults filled in.
    static func parseLevel(_ l: YAMLValue?) throws -> LevelSpec {
        var level = LevelSpec(
            snrDB: .uniform(min: -5, max: 10), snrDefinition: .speechActive, keywordGainDB: .const(0),
            silenceGainDB: .uniform(min: -20, max: 0), maxPeak: 0.99)
        if let l {
            let m = try l.mapping(allowed: [
                "snr_db", "snr_definition", "keyword_gain_db", "silence_gain_db", "max_peak",
            ])
            if let v = m["snr_db"] { level.snrDB = try Distribution.read(v, domain: -60...60) }
            if let v = m["snr_definition"] { level.snrDefinition = try v.option(SNRDefinition.self) }
            if let v = m["keyword_gain_db"] { level.keywordGainDB = try Distribution.read(v, domain: -60...40) }
            if let v = m["silence_gain_db"] { level.silenceGainDB = try Distribution.read(v, domain: -60...40) }
            if let v = m["max_peak"] { level.maxPeak = try v.double(in: 0.01...1) }
        }
        return level
    }

    /// The `speech_activity` section, defaults filled in.
    static func parseSpeechActivity(_ a: YAMLValue?) throws -> SpeechActivitySpec {
        var activity = SpeechActivitySpec(frameSeconds: 0.01, thresholdDB: 30, marginSeconds: 0.01)
        if let a {
            let m = try a.mapping(allowed: ["frame_seconds", "threshold_db", "margin_seconds"])
            if let v = m["frame_seconds"] { activity.frameSeconds = try v.double(in: 0.001...0.1) }
            if let v = m["threshold_db"] { activity.thresholdDB = try v.double(in: 1...120) }
            if let v = m["margin_seconds"] { activity.marginSeconds = try v.double(in: 0...0.5) }
        }
        return activity
    }

    /// The `output` section, defaults filled in.
    static func parseOutput(_ o: YAMLValue?) throws -> OutputSpec {
        var output = OutputSpec(format: .pcm16)
        if let o {
            let m = try o.mapping(allowed: ["format"])
            if let f = m["format"] { output.format = try f.option(AudioFormat.self) }
        }
        return output
    }
}
