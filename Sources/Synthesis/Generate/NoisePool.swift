import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// The noise files of a recipe, each cut into disjoint per-split regions.
///
/// Positions are in samples at the dataset's sample rate. A file at another rate is resampled once
/// (and kept in memory); a file at the dataset rate is read window by window, so memory does not grow
/// with the noise collection.
public final class NoisePool: @unchecked Sendable {
    public let files: [DatasetInfo.NoiseFile]
    let urls: [String: URL]
    /// Native sample rate by source, for the per-segment lookup on the hot path.
    private let nativeRates: [String: Int]
    let sampleRate: Int
    private let lock = NSLock()
    private var resampled: [String: [Float]] = [:]

    /// Scans the recipe's noise sources.
    /// - Parameters:
    ///   - corpusNoise: the corpus's `_background_noise_` files (corpus-relative paths).
    ///   - resolve: maps a recipe source folder string to a folder.
    public convenience init(
        recipe: Recipe, corpusRoot: URL, corpusNoise: [NoiseFileInfo], recipeDirectory: URL,
        hasher: SourceHasher
    ) throws {
        try self.init(
            noise: recipe.noise, sampleRate: recipe.corpus.sampleRate, corpusRoot: corpusRoot, corpusNoise: corpusNoise,
            recipeDirectory: recipeDirectory, hasher: hasher)
    }

    /// Scans a recipe's `noise` section at the dataset rate (Speech Commands and stream recipes alike).
    public init(
        noise spec: Recipe.NoiseSpec, sampleRate: Int, corpusRoot: URL, corpusNoise: [NoiseFileInfo],
        recipeDirectory: URL, hasher: SourceHasher
    ) throws {
        self.sampleRate = sampleRate
        var found: [(source: String, url: URL, frames: Int, rate: Int)] = []
        for source in spec.sources {
            var entries: [(String, URL, Int, Int)] = []
            if source == Recipe.NoiseSpec.corpusBackground {
                // Resolved as render and verify will (`NoiseSourceResolver`): inside the corpus, no link out of it.
                for n in corpusNoise where n.channels >= 1 {
                    let url = try ContainedPath.resolve(n.path, under: corpusRoot, field: "noise", regularFile: true)
                    entries.append((n.path, url, n.frames, n.sampleRate))
                }
            } else {
                let folder =
                    source.hasPrefix("/")
                    ? URL(fileURLWithPath: source) : recipeDirectory.appendingPathComponent(source)
                for rel in Self.audioFiles(below: folder) {
                    let url = try ContainedPath.resolve(rel, under: folder, field: "noise", regularFile: true)
                    guard let info = try? AudioReader.info(url) else { continue }
                    entries.append(("\(source)/\(rel)", url, info.frames, info.sampleRate))
                }
            }
            guard !entries.isEmpty else { throw GenerateError.noNoise(source: source) }
            found += entries
        }
        let crossfade = Int((spec.crossfadeSeconds * Double(sampleRate)).rounded())
        var files: [DatasetInfo.NoiseFile] = []
        var urls: [String: URL] = [:]
        for f in found {
            let n = Resampler.outputLength(inputFrames: f.frames, from: f.rate, to: sampleRate)
            // Regions in split order along the file: training, validation, testing.
            var regions: [String: [Int]] = [:]
            var start = 0
            var acc = 0.0
            for split in Split.allCases {
                acc += spec.regions[split.rawValue]!
                let end = split == .testing ? n : Int((acc * Double(n)).rounded(.down))
                regions[split.rawValue] = [start, end]
                let needed = 2 * crossfade + 1
                if end - start <= needed {
                    throw GenerateError.noiseTooShort(
                        source: f.source, split: split.rawValue, regionSamples: end - start,
                        neededSamples: needed)
                }
                start = end
            }
            files.append(
                DatasetInfo.NoiseFile(
                    source: f.source, sha256: try hasher.sha256(of: f.url, name: f.source), numSamples: n,
                    nativeSampleRate: f.rate, regions: regions))
            urls[f.source] = f.url
        }
        self.files = files.sorted { $0.source < $1.source }
        self.urls = urls
        self.nativeRates = Dictionary(uniqueKeysWithValues: files.map { ($0.source, $0.nativeSampleRate) })
    }

    /// A pool over files already described (rendering from a manifest / dataset.json).
    public init(files: [DatasetInfo.NoiseFile], urls: [String: URL], sampleRate: Int) {
        self.files = files
        self.urls = urls
        self.nativeRates = Dictionary(uniqueKeysWithValues: files.map { ($0.source, $0.nativeSampleRate) })
        self.sampleRate = sampleRate
    }

    /// Samples `[start, start + count)` of a file at the dataset rate.
    public func samples(_ source: String, start: Int, count: Int) throws -> [Float] {
        guard let url = urls[source], let nativeRate = nativeRates[source] else {
            throw GenerateError.noNoise(source: source)
        }
        if nativeRate == sampleRate {
            return try AudioReader.readWindow(url, start: start, length: count).samples
        }
        let whole = try resampledSamples(source, url: url)
        guard start >= 0, count >= 0, case let (end, false) = start.addingReportingOverflow(count), end <= whole.count
        else {
            throw AudioError.invalidWindow(path: url.path, start: start, length: count, frames: whole.count)
        }
        return Array(whole[start..<end])
    }

    private func resampledSamples(_ source: String, url: URL) throws -> [Float] {
        lock.lock()
        if let cached = resampled[source] {
            lock.unlock()
            return cached
        }
        lock.unlock()
        let x = try AudioReader.read(url, options: AudioReadOptions(sampleRate: sampleRate)).samples
        lock.lock()
        defer { lock.unlock() }
        resampled[source] = x
        return x
    }

    /// Audio files (wav, flac, ogg, aiff) below a folder, relative paths, sorted.
    static func audioFiles(below folder: URL) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let lower = rel.lowercased()
            if ["wav", "flac", "ogg", "aif", "aiff"].contains((lower as NSString).pathExtension),
                !(rel as NSString).lastPathComponent.hasPrefix(".")
            {
                out.append(rel)
            }
        }
        return out.sorted()
    }
}

/// SHA-256 of source files, computed once per run and shared by the workers.
public final class SourceHasher: @unchecked Sendable {
    private let lock = NSLock()
    private var cache: [String: String] = [:]

    public init() {}

    public func sha256(of url: URL, name: String) throws -> String {
        lock.lock()
        if let h = cache[name] {
            lock.unlock()
            return h
        }
        lock.unlock()
        let h = try SHA256.hex(fileAt: url)
        lock.lock()
        cache[name] = h
        lock.unlock()
        return h
    }
}
