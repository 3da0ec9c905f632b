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
    /// Absolute noise folders of a recipe the user passed (`--recipe`): the only absolute sources read.
    public var recipeFolders: [URL] = []
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
        let layout = DatasetLayout(dataset)
        let records = try DatasetInfo.loadManifests(dataset).sorted { ($0.split, $0.id) < ($1.split, $1.id) }
        guard let recipe = info.recipe else {
            throw DatasetFormatError.invalidField(
                path: layout.info.path, field: "recipe",
                detail: "is absent: a clip dataset (clip_recipe) has no mixtures to render; expected a dataset of a "
                    + "Speech Commands recipe (tkd generate writes a clip dataset's audio itself)")
        }
        let format = recipe.output.format
        // Render writes only the canonical audio paths, so a manifest cannot aim it at another file.
        for r in records where r.audio != DatasetLayout.audioPath(split: r.split, id: r.id, format: format) {
            throw DatasetFormatError.invalidRecord(
                path: layout.manifest(r.split).path, id: r.id, field: "audio",
                detail: "is '\(r.audio)'; tkd render writes only "
                    + "'\(DatasetLayout.audioPath(split: r.split, id: r.id, format: format))'")
        }
        let hasher = SourceHasher()
        let resolver = NoiseSourceResolver(corpus: corpusRoot, noiseBase: noiseBase, recipeFolders: recipeFolders)
        var urls: [String: URL] = [:]
        for f in info.noiseFiles {
            let url = try resolver.url(f.source, field: "\(layout.info.path): noise_files[].source")
            let found = try hasher.sha256(of: url, name: f.source)
            guard found == f.sha256 else {
                throw GenerateError.sourceChanged(path: url.path, recorded: f.sha256, found: found)
            }
            urls[f.source] = url
        }
        let pool = NoisePool(files: info.noiseFiles, urls: urls, sampleRate: info.sampleRate)
        let mine = records.indices.filter { shard.owns($0) }.map { records[$0] }
        let reporter = ProgressReporter(label: "render", total: mine.count, mode: progress)
        let corpusRoot = self.corpusRoot
        for split in Split.allCases { AtomicFile.removeStaleTemporaries(in: layout.audioFolder(split)) }
        let present = try WorkPool(jobs: jobs).map(mine.count) { i -> Bool in
            defer { reporter.advance() }
            let r = mine[i]
            let target = try layout.audio(r, existing: false)
            if FileManager.default.fileExists(atPath: target.path) {
                // Never replace a file this manifest did not make.
                let found = try SHA256.hex(fileAt: target)
                guard found == r.audioSHA256 else {
                    throw GenerateError.foreignFile(path: target.path, found: found, recorded: r.audioSHA256)
                }
                return true
            }
            var clip: [Float]?
            if let k = r.keyword {
                let url = try ContainedPath.resolve(
                    k.source, under: corpusRoot, field: "example '\(r.id)': keyword.source", regularFile: true)
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
            try AtomicFile.write(try CanonicalJSON.encodePretty(info), to: layout.info, durable: true)
        }
        return Summary(rendered: mine.count - already, alreadyPresent: already)
    }
}
