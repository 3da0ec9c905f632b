import Foundation

/// Errors of `tkd generate` / `tkd render`: bad corpora, bad noise, stale sources, foreign outputs.
public enum GenerateError: Error, Equatable, Sendable {
    case corpusVersionMismatch(corpus: String, found: String, expected: String)
    case splitListsMissing(corpus: String)
    case emptyWord(corpus: String, word: String)
    case noNoise(source: String)
    case noiseTooShort(source: String, split: String, regionSamples: Int, neededSamples: Int)
    case silentNoise(id: String, source: String)
    case silentKeyword(id: String, source: String)
    case unreadableKeyword(id: String, source: String, reason: String)
    case badCorpusFile(path: String, kind: String, detail: String)
    case sourceChanged(path: String, recorded: String, found: String)
    case renderMismatch(id: String, recorded: String, rendered: String)
    case foreignFile(path: String, found: String, recorded: String)
    case outputFromOtherRecipe(path: String)
    case outputNotADataset(path: String, found: [String])
    case unknownVariant(name: String, available: [String])
    case incomplete(path: String, have: Int, expected: Int)
    case unsupported(what: String, reason: String)
    /// A stream recipe's split has no clip of the kind its streams need (targets or distractors).
    case noStreamClips(split: String, kind: String, words: [String])
    /// A stream whose drawn length cannot hold its events, silences and gaps.
    case streamCannotFit(id: String, neededSamples: Int, lengthSamples: Int)
}

extension GenerateError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .corpusVersionMismatch(corpus, found, expected):
            return
                "generate: corpus \(corpus) looks like Speech Commands \(found); the recipe expects \(expected). "
                + "Hint: set corpus.version in the recipe or pass the right corpus."
        case let .splitListsMissing(corpus):
            return
                "generate: corpus \(corpus) has no validation_list.txt/testing_list.txt but the recipe asks for "
                + "corpus.splits: list-files. Hint: use hash-rule or auto."
        case let .emptyWord(corpus, word):
            return
                "generate: corpus \(corpus): word folder '\(word)' is missing or has no usable clips; expected at "
                + "least one clip per keyword."
        case let .noNoise(source):
            return "generate: noise source \(source) holds no readable audio files; expected at least one."
        case let .noiseTooShort(source, split, region, needed):
            return
                "generate: noise \(source): its \(split) region is \(region) samples; looping with the crossfade "
                + "needs more than \(needed). Hint: lower noise.crossfade_seconds or drop the file."
        case let .silentNoise(id, source):
            return
                "generate: example \(id): noise \(source) is silent on the keyword's span, so no SNR can be met. "
                + "Hint: remove all-zero noise files or set on_bad_input: skip."
        case let .silentKeyword(id, source):
            return
                "generate: example \(id): keyword clip \(source) is silent (no speech-active span). Hint: set "
                + "on_bad_input: skip."
        case let .unreadableKeyword(id, source, reason):
            return "generate: example \(id): keyword clip \(source) cannot be read: \(reason)"
        case let .badCorpusFile(path, kind, detail):
            return
                "generate: corpus file \(path) cannot be used (\(kind): \(detail)). Hint: fix or remove it, or set "
                + "on_bad_input: skip to leave it out (recorded in dataset.json)."
        case let .sourceChanged(path, recorded, found):
            return
                "render: source \(path) has SHA-256 \(found); the manifest recorded \(recorded). Refusing to render "
                + "from a changed source."
        case let .foreignFile(path, found, recorded):
            return
                "render: \(path) exists with SHA-256 \(found.prefix(12))…, not the \(recorded.prefix(12))… "
                + "its manifest records; refusing to replace a file tkd did not make. "
                + "Hint: move it away to re-render it."
        case let .renderMismatch(id, recorded, rendered):
            return "render: example \(id): rendered audio has SHA-256 \(rendered); the manifest recorded \(recorded)."
        case let .outputFromOtherRecipe(path):
            return
                "generate: \(path) holds a dataset made from another recipe, variant or corpus. Hint: choose a new "
                + "--out folder."
        case let .outputNotADataset(path, found):
            let shown = found.prefix(3).joined(separator: ", ") + (found.count > 3 ? ", …" : "")
            return "generate: \(path) is not empty (\(shown)) and holds no dataset made by tkd generate; refusing to "
                + "write into it. Hint: choose a new --out folder."
        case let .unknownVariant(name, available):
            return
                "generate: --variant \(name) is not in the recipe; expected one of: "
                + "\(available.joined(separator: ", "))."
        case let .incomplete(path, have, expected):
            return "generate: \(path): merged \(have) records but the plan has \(expected)."
        case let .unsupported(what, reason):
            return "generate: \(what) does not apply here: \(reason)."
        case let .noStreamClips(split, kind, words):
            let shown = words.prefix(5).joined(separator: ", ") + (words.count > 5 ? ", …" : "")
            return
                "generate: the \(split) split has no \(kind) clips (words: \(shown)); the recipe's streams in that "
                + "split need some. Hint: drop the split from splits, or set the groups' \(kind)s to 0."
        case let .streamCannotFit(id, needed, length):
            return
                "generate: stream \(id): its events, silences and gaps need \(needed) samples; the stream is "
                + "\(length). Hint: lengthen streams[].length_seconds or lower the counts or events.min_gap_seconds."
        }
    }

    public var errorDescription: String? { description }
}
