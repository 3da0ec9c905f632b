import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// One example to make, before any audio is read: its id, split, label and what it is made from.
public struct ExampleSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A keyword or `_unknown_` example made from a corpus clip.
        case clip(Utterance)
        /// A `_silence_` example (noise only); `ordinal` numbers them within the split.
        case silence(ordinal: Int)
    }

    public let id: String
    public let split: Split
    public let label: String
    public let labelIndex: Int
    public let kind: Kind

    /// `audio/<split>/<id>.<ext>`
    public func audioPath(format: AudioFormat) -> String {
        DatasetLayout.audioPath(split: split, id: id, format: format)
    }
}

/// Turns a recipe and a corpus index into the full, ordered list of examples of every split.
public enum ExampleEnumerator {
    /// All examples: training, validation, testing, each sorted by id.
    ///
    /// Keyword clips: every clip of a keyword word in the split (or the first `max_keywords_per_split`
    /// in a seeded order). `_unknown_`: round(unknown_share · keywords) clips of the unknown words, the
    /// first in a seeded order. `_silence_`: round(silence_share · keywords) noise-only examples.
    /// Seeded orders sort by SHA-256 of (seed, purpose, path), so they do not depend on the variant.
    public static func examples(recipe: Recipe, index: CorpusIndex) -> [ExampleSpec] {
        let labels = recipe.task.labelNames
        let keywordSet = Set(recipe.task.words)
        let unknownSet = Set(recipe.task.unknownWords)
        func seededOrder(_ items: [Utterance], _ purpose: String) -> [Utterance] {
            items.map { (SHA256.hex("\(recipe.seed)|\(purpose)|\($0.path)"), $0) }
                .sorted { $0.0 < $1.0 }.map(\.1)
        }
        var out: [ExampleSpec] = []
        for split in Split.allCases {
            let inSplit = index.utterances.filter { $0.split == split }
            var keywords = inSplit.filter { keywordSet.contains($0.word) }
            if let cap = recipe.task.maxKeywordsPerSplit, keywords.count > cap {
                keywords = seededOrder(keywords, "keyword-\(split.rawValue)").prefix(cap).map { $0 }
            }
            var specs: [ExampleSpec] = keywords.map {
                ExampleSpec(
                    id: clipID($0), split: split, label: $0.word, labelIndex: labels.firstIndex(of: $0.word)!,
                    kind: .clip($0))
            }
            if recipe.task.hasUnknown {
                let want = Int((recipe.task.unknownShare * Double(keywords.count)).rounded())
                let pool = seededOrder(inSplit.filter { unknownSet.contains($0.word) }, "unknown-\(split.rawValue)")
                let label = Recipe.TaskSpec.unknownLabel
                specs += pool.prefix(want).map {
                    ExampleSpec(
                        id: clipID($0), split: split, label: label, labelIndex: labels.firstIndex(of: label)!,
                        kind: .clip($0))
                }
            }
            if recipe.task.silenceShare > 0 {
                let want = Int((recipe.task.silenceShare * Double(keywords.count)).rounded())
                let label = Recipe.TaskSpec.silenceLabel
                specs += (0..<want).map {
                    ExampleSpec(
                        id: String(format: "_silence_%@_%05d", split.rawValue, $0), split: split, label: label,
                        labelIndex: labels.firstIndex(of: label)!, kind: .silence(ordinal: $0))
                }
            }
            out += specs.sorted { $0.id < $1.id }
        }
        return out
    }

    /// `<word>_<speaker>_nohash_<n>`: unique, since every clip is used at most once per dataset.
    public static func clipID(_ u: Utterance) -> String { "\(u.word)_\(u.speaker)_nohash_\(u.utteranceIndex)" }
}
