import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// Renders a dataset's audio from its manifests and the corpus (`tkd render`): after `generate
/// --plan-only`, or to rebuild deleted audio. Every source's SHA-256 is checked against the manifest
/// before use, and every rendered file against its recorded `audio_sha256`.
public struct DatasetRenderer: Sendable {
    public var dataset: URL
    public var corpusRoot: URL
    /// Folder that relative noise sources outside the corpus resolve against (the recipe's folder).
    public var noiseBase: URL
    public var jobs = 1
    public var shard = Shard.whole
    public var progress: ProgressMode = .auto

    public init(dataset: URL, corpusRoot: URL, noiseBase: URL) {
        self.dataset = dataset
        self.corpusRoot = corpusRoot
        self.noiseBase = noiseBase
    }

    public struct Summary: Sendable {
        public let rendered: Int
        public let alreadyPresent: Int
    }

    /// - Throws: `GenerateError.sourceChanged` naming a changed source, `.renderMismatch` naming the
    ///   example whose audio differs from its record, and any read/write error.
    @discardableResult
    public func run() throws -> Summary {
        var info = try DatasetInfo.load(dataset)
        let records = try DatasetInfo.loadManifests(dataset).sorted { ($0.split, $0.id) < ($1.split, $1.id) }
        let hasher = SourceHasher()
        var urls: [String: URL] = [:]
        for f in info.noiseFiles {
            let url = resolveNoise(f.source)
            let found = try hasher.sha256(of: url, name: f.source)
            guard found == f.sha256 else {
                throw GenerateError.sourceChanged(path: url.path, recorded: f.sha256, found: found)
            }
            urls[f.source] = url
        }
        let pool = NoisePool(files: info.noiseFiles, urls: urls, sampleRate: info.sampleRate)
        let mine = records.indices.filter { shard.owns($0) }.map { records[$0] }
        let reporter = ProgressReporter(label: "render", total: mine.count, mode: progress)
        let dataset = self.dataset, corpusRoot = self.corpusRoot
        let format = info.recipe.output.format
        let present = try WorkPool(jobs: jobs).map(mine.count) { i -> Bool in
            defer { reporter.advance() }
            let r = mine[i]
            let target = DatasetLayout(dataset).audio(r)
            if (try? SHA256.hex(fileAt: target)) == r.audioSHA256 { return true }
            var clip: [Float]?
            if let k = r.keyword {
                let url = corpusRoot.appendingPathComponent(k.source)
                let found = try hasher.sha256(of: url, name: k.source)
                guard found == k.sourceSHA256 else {
                    throw GenerateError.sourceChanged(path: url.path, recorded: k.sourceSHA256, found: found)
                }
                clip = Mixer.oneSecond(
                    try AudioReader.read(url, options: AudioReadOptions(sampleRate: r.sampleRate)).samples,
                    sampleRate: r.sampleRate)
            }
            let segments = try r.noise.map {
                try pool.samples($0.source, start: $0.sourceStartSample, count: $0.numSamples)
            }
            let samples = Mixer.mix(Mixer.components(r, keywordClip: clip, segments: segments), scale: r.scale)
            let encoded = try AudioWriter.encode(samples, sampleRate: r.sampleRate, format: format, path: target.path)
            let hash = SHA256.hex(encoded.data)
            guard hash == r.audioSHA256 else {
                throw GenerateError.renderMismatch(id: r.id, recorded: r.audioSHA256, rendered: hash)
            }
            try AtomicFile.write(encoded.data, to: target)
            return false
        }
        reporter.finish()
        let already = present.filter { $0 }.count
        if shard.count == 1 && !info.audioRendered {
            info.audioRendered = true
            try AtomicFile.write(try CanonicalJSON.encodePretty(info), to: DatasetLayout(dataset).info)
        }
        return Summary(rendered: mine.count - already, alreadyPresent: already)
    }

    /// Corpus-relative for the corpus's own noise; otherwise as the recipe named it, relative to `noiseBase`.
    func resolveNoise(_ source: String) -> URL {
        if source.hasPrefix("/") { return URL(fileURLWithPath: source) }
        if source.hasPrefix(CorpusScanner.noiseFolder + "/") { return corpusRoot.appendingPathComponent(source) }
        return noiseBase.appendingPathComponent(source)
    }
}
