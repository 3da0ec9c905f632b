import DatasetFormat
import Foundation
import TKDCore

/// Where the noise files a dataset names (`dataset.json`'s `noise_files`, a manifest's `noise[].source`) are
/// read from when a dataset is rendered or verified. Every path is read from a file, so none may lead out of
/// its root: the corpus's own noise (`_background_noise_/…`) resolves inside the corpus, other relative
/// sources inside `--noise-base`, and an absolute source only inside a folder that a recipe the user passed
/// names — never straight from `dataset.json`.
public struct NoiseSourceResolver: Sendable {
    public var corpus: URL
    /// Where relative noise sources outside the corpus resolve (the recipe's folder).
    public var noiseBase: URL
    /// Absolute noise folders of a recipe given on the command line.
    public var recipeFolders: [URL]

    public init(corpus: URL, noiseBase: URL, recipeFolders: [URL] = []) {
        self.corpus = corpus
        self.noiseBase = noiseBase
        self.recipeFolders = recipeFolders
    }

    /// The absolute noise folders of `recipe`.
    public static func absoluteFolders(of recipe: Recipe) -> [URL] {
        recipe.noise.sources.filter { $0.hasPrefix("/") }.map { URL(fileURLWithPath: $0) }
    }

    /// The file `source` names.
    /// - Parameter field: what named it, for the error.
    /// - Throws: `CoreError.invalidValue` naming the field and the source.
    public func url(_ source: String, field: String) throws -> URL {
        if source.hasPrefix("/") {
            for folder in recipeFolders {
                let prefix = folder.standardizedFileURL.path
                guard source.hasPrefix(prefix + "/") else { continue }
                return try ContainedPath.resolve(
                    String(source.dropFirst(prefix.count + 1)), under: folder, field: field, regularFile: true)
            }
            throw CoreError.invalidValue(
                field: field, value: source,
                expected: "a source inside the corpus or --noise-base; an absolute noise folder is read only when "
                    + "a recipe passed with --recipe names it")
        }
        if source.hasPrefix(SpeechCommands.noiseFolder + "/") {
            return try ContainedPath.resolve(source, under: corpus, field: field, regularFile: true)
        }
        return try ContainedPath.resolve(source, under: noiseBase, field: field, regularFile: true)
    }
}
