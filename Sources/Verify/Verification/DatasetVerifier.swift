import AudioIO
import DatasetFormat
import Features
import Foundation
import Synthesis
import TKDCore
import TensorStore

/// Checks everything a dataset claims (`tkd verify`): manifests, splits, keyword windows, audio
/// (hash, re-render from the manifest, an independent keyword locator, the achieved SNR), noise sources,
/// feature stores and teacher caches. Nothing is modified.
public struct DatasetVerifier: Sendable {
    public var dataset: URL
    /// The source corpus (keyword clips, `_background_noise_`): needed for the re-render, the locator,
    /// the SNR and the noise-source checks, which are skipped without it.
    public var corpus: URL?
    /// Where relative noise sources outside the corpus are resolved (`tkd render`'s rule: the recipe's folder).
    public var noiseBase = URL(fileURLWithPath: ".")
    /// Absolute noise folders that may be read (those of a recipe passed with `--recipe`); an absolute
    /// source in `dataset.json` outside them is a failure, never read.
    public var recipeFolders: [URL] = []
    /// Audio-level checks on this many examples (spread evenly over the manifests); nil = all.
    public var sample: Int?
    public var jobs = 1
    public var progress: ProgressMode = .auto

    public init(dataset: URL) { self.dataset = dataset }

    /// Tally and failures, filled by the checks (one actor at a time: guarded by a lock).
    final class Ledger: @unchecked Sendable {
        private let lock = NSLock()
        private var order: [String] = []
        private var tallies: [String: VerifyCheck] = [:]
        private(set) var failures: [VerifyFailure] = []

        func pass(_ check: String, count: Int = 1) { record(check, count: count, failed: 0) }
        func fail(_ check: String, id: String? = nil, path: String? = nil, _ detail: String) {
            record(check, count: 1, failed: 1)
            lock.lock()
            failures.append(VerifyFailure(check: check, id: id, path: path, detail: detail))
            lock.unlock()
        }
        func expect(
            _ ok: Bool, _ check: String, id: String? = nil, path: String? = nil, _ detail: @autoclosure () -> String
        ) {
            if ok { pass(check) } else { fail(check, id: id, path: path, detail()) }
        }
        func skip(_ check: String, _ why: String) {
            lock.lock()
            defer { lock.unlock() }
            if tallies[check] == nil {
                order.append(check)
                tallies[check] = VerifyCheck(name: check, checked: 0, failed: 0, skipped: why)
            }
        }
        private func record(_ check: String, count: Int, failed: Int) {
            lock.lock()
            defer { lock.unlock() }
            if tallies[check] == nil {
                order.append(check)
                tallies[check] = VerifyCheck(name: check, checked: 0, failed: 0, skipped: nil)
            }
            tallies[check]!.checked += count
            tallies[check]!.failed += failed
        }
        var checks: [VerifyCheck] {
            lock.lock()
            defer { lock.unlock() }
            return order.map { tallies[$0]! }
        }
    }

    public func run() throws -> VerifyReport {
        let ledger = Ledger()
        let info = try DatasetInfo.load(dataset)
        if let streamRecipe = info.streamRecipe { return try runStreams(info, recipe: streamRecipe) }
        let (all, records) = manifests(info, ledger)
        structure(info, records, ledger)
        let audioRecords = sampled(records)
        let noiseFiles = noiseSources(info, ledger)
        try audio(info, audioRecords, noiseFiles: noiseFiles, ledger)
        let manifestsSHA = try? ManifestFingerprint.sha256(dataset: dataset)
        try stores(records, manifestsSHA: manifestsSHA, ledger)
        let teachers = try teacherCaches(records, manifestsSHA: manifestsSHA, ledger)
        // Failures in manifest order of checks, then example, for a stable report.
        let failures = ledger.failures.sorted {
            ($0.check, $0.id ?? "", $0.detail) < ($1.check, $1.id ?? "", $1.detail)
        }
        return VerifyReport(
            dataset: dataset.path, examples: all.count, audioChecked: audioRecords.count, checks: ledger.checks,
            failures: failures, teachers: teachers)
    }

    /// Every `sample`-th example in manifest order (all without `--sample`).
    func sampled(_ records: [ExampleRecord]) -> [ExampleRecord] {
        guard let k = sample, k < records.count, k > 0 else { return records }
        return (0..<k).map { records[$0 * records.count / k] }
    }

    // MARK: Manifests

    /// Every record that decodes, and those of them that are usable (`ExampleRecord.problems` empty): only
    /// those reach the window, audio, store and cache checks, so a tampered record is a failure naming its
    /// id, never a trap.
    func manifests(_ info: DatasetInfo, _ ledger: Ledger) -> (all: [ExampleRecord], usable: [ExampleRecord]) {
        var records: [ExampleRecord] = [], usable: [ExampleRecord] = []
        var ids: [String: String] = [:]
        var counts: [String: [String: Int]] = [:]
        for split in Split.allCases {
            let url = DatasetLayout(dataset).manifest(split)
            let data: Data
            do {
                guard let d = try RegularFile.contents(url) else {
                    ledger.fail("manifest.present", path: url.path, "the manifest is missing")
                    continue
                }
                data = d
            } catch {
                ledger.fail("manifest.present", path: url.path, "\(error)")
                continue
            }
            ledger.pass("manifest.present")
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            var previous: String?
            for (n, line) in lines.enumerated() where !line.isEmpty {
                let where_ = "\(url.path):\(n + 1)"
                guard let r = try? JSONDecoder().decode(ExampleRecord.self, from: Data(line)) else {
                    ledger.fail("manifest.schema", path: where_, "line \(n + 1) is not a manifest record")
                    continue
                }
                ledger.pass("manifest.schema")
                let canonical = (try? r.canonicalJSON()) ?? Data()
                if canonical == Data(line) {
                    ledger.pass("manifest.canonical")
                } else {
                    let a = Array(line), b = Array(canonical)
                    let at = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
                    func around(_ v: [UInt8]) -> String {
                        String(decoding: v[max(0, at - 20)..<min(v.count, at + 20)], as: UTF8.self)
                    }
                    ledger.fail(
                        "manifest.canonical", id: r.id, path: where_,
                        "not in canonical form at byte \(at): '…\(around(a))…', canonical '…\(around(b))…'")
                }
                if let previous, previous >= r.id {
                    ledger.fail(
                        "manifest.canonical", id: r.id, path: where_,
                        "records are not sorted by id ('\(previous)' comes first)")
                }
                previous = r.id
                if let other = ids[r.id] {
                    ledger.fail("manifest.unique-id", id: r.id, path: where_, "id also in \(other)")
                } else {
                    ledger.pass("manifest.unique-id")
                    ids[r.id] = where_
                }
                ledger.expect(
                    r.split == split, "manifest.split", id: r.id, path: where_,
                    "split is \(r.split.rawValue) in the \(split.rawValue) manifest")
                let index = info.labels.firstIndex(of: r.label)
                ledger.expect(
                    index == r.labelIndex, "manifest.label-index", id: r.id, path: where_,
                    "label '\(r.label)' has label_index \(r.labelIndex); dataset.json's labels give "
                        + "\(index.map(String.init) ?? "none")"
                )
                ledger.expect(
                    r.sampleRate == info.sampleRate, "manifest.sample-rate", id: r.id, path: where_,
                    "sample_rate is \(r.sampleRate); dataset.json says \(info.sampleRate)")
                for label in r.allLabels { counts[split.rawValue, default: [:]][label, default: 0] += 1 }
                for (name, i) in zip(r.labels ?? [], r.labelIndices ?? []) {
                    let index = info.labels.firstIndex(of: name)
                    ledger.expect(
                        index == i, "manifest.label-index", id: r.id, path: where_,
                        "label '\(name)' has label index \(i) in label_indices; dataset.json's labels give "
                            + "\(index.map(String.init) ?? "none")")
                }
                records.append(r)
                let problems = r.problems
                if problems.isEmpty {
                    ledger.pass("manifest.record")
                    usable.append(r)
                }
                for p in problems { ledger.fail("manifest.record", id: r.id, path: where_, p.description) }
            }
        }
        for split in Split.allCases.map(\.rawValue) {
            let expected = info.counts[split] ?? [:], found = counts[split] ?? [:]
            for label in Set(expected.keys).union(found.keys).sorted() {
                let e = expected[label] ?? 0, f = found[label] ?? 0
                ledger.expect(
                    e == f, "manifest.counts", path: DatasetLayout(dataset).info.path,
                    "\(split)/\(label): \(f) examples in the manifest, dataset.json counts \(e)")
            }
        }
        return (records, usable)
    }

    // MARK: Splits (the windows are part of `manifest.record`)

    func structure(_ info: DatasetInfo, _ records: [ExampleRecord], _ ledger: Ledger) {
        var speakers: [String: Split] = [:]
        for r in records {
            if let k = r.keyword {
                if let s = speakers[k.speaker], s != r.split {
                    ledger.fail(
                        "split.speakers-disjoint", id: r.id,
                        "speaker '\(k.speaker)' is in \(s.rawValue) and \(r.split.rawValue)")
                } else {
                    speakers[k.speaker] = r.split
                    ledger.pass("split.speakers-disjoint")
                }
            }
            for seg in r.noise {
                let file = info.noiseFiles.first { $0.source == seg.source }
                guard let file else {
                    ledger.fail(
                        "split.noise-regions", id: r.id, "noise '\(seg.source)' is not in dataset.json's noise_files")
                    continue
                }
                let region = file.region(r.split),
                    used = seg.sourceStartSample..<(seg.sourceStartSample + seg.numSamples)
                ledger.expect(
                    used.lowerBound >= region.lowerBound && used.upperBound <= region.upperBound, "split.noise-regions",
                    id: r.id,
                    "noise samples [\(used.lowerBound), \(used.upperBound)) of '\(seg.source)' leave the "
                        + "\(r.split.rawValue) region [\(region.lowerBound), \(region.upperBound))"
                )
            }
        }
        // The regions themselves: pairwise disjoint across splits, per file.
        for f in info.noiseFiles {
            let regions = Split.allCases.map { ($0, f.region($0)) }.filter { !$0.1.isEmpty }
            for i in regions.indices {
                for j in regions.indices where j > i {
                    let (a, b) = (regions[i], regions[j])
                    ledger.expect(
                        !a.1.overlaps(b.1), "split.noise-disjoint", path: f.source,
                        "regions of \(a.0.rawValue) [\(a.1.lowerBound), \(a.1.upperBound)) and \(b.0.rawValue) "
                            + "[\(b.1.lowerBound), \(b.1.upperBound)) overlap"
                    )
                }
            }
        }
    }

    // MARK: Sources and audio

    /// Where the noise file `source` is read from (`NoiseSourceResolver`), nil without `--corpus`.
    /// - Throws: `CoreError.invalidValue` when the source leads out of its root or is not a regular file.
    func noiseURL(_ source: String) throws -> URL? {
        guard let corpus else { return nil }
        return try NoiseSourceResolver(corpus: corpus, noiseBase: noiseBase, recipeFolders: recipeFolders)
            .url(source, field: "\(DatasetLayout(dataset).info.path): noise_files source")
    }

    /// Checks every noise file's SHA-256; returns where each source that resolved inside its root is read from.
    func noiseSources(_ info: DatasetInfo, _ ledger: Ledger) -> [String: URL] {
        var urls: [String: URL] = [:]
        for f in info.noiseFiles {
            let url: URL
            do {
                guard let u = try noiseURL(f.source) else {
                    ledger.skip("source.noise-sha256", "no --corpus")
                    continue
                }
                url = u
            } catch {
                ledger.fail("source.noise-sha256", path: f.source, "\(error)")
                continue
            }
            urls[f.source] = url
            let found = try? SHA256.hex(fileAt: url)
            ledger.expect(
                found == f.sha256, "source.noise-sha256", path: url.path,
                found == nil
                    ? "the noise file is missing"
                    : "SHA-256 is \(found!.prefix(12))…; dataset.json records \(f.sha256.prefix(12))…")
        }
        return urls
    }

    func audio(
        _ info: DatasetInfo, _ records: [ExampleRecord], noiseFiles: [String: URL], _ ledger: Ledger
    ) throws {
        let noise: NoisePool? = corpus.map { _ in
            NoisePool(files: info.noiseFiles, urls: noiseFiles, sampleRate: info.sampleRate)
        }
        if corpus == nil {
            for c in ["audio.rerender", "keyword.locate", "snr.achieved", "source.keyword-sha256"] {
                ledger.skip(c, "no --corpus")
            }
        }
        let reporter = ProgressReporter(label: "verify audio", total: records.count, mode: progress)
        let root = dataset, corpus = self.corpus, format = info.audioFormat, info = info
        let sources = ClipSources(capacity: 4 * max(1, jobs))
        try WorkPool(jobs: jobs).forEach(records.count) { i in
            defer { reporter.advance() }
            let r = records[i]
            // Inside the dataset (no link out), and read only when it is a regular file (never a device).
            let url: URL, contents: Data?
            do {
                url = try DatasetLayout(root).audio(r, existing: false)
                contents = try RegularFile.contents(url)
            } catch {
                ledger.fail("audio.sha256", id: r.id, "\(error)")
                return
            }
            // The file's SHA-256 and samples; a plan-only dataset (audio_rendered false) may have none yet.
            var fileSHA: String?, samples: [Float]?
            if let bytes = contents {
                let sha = SHA256.hex(bytes)
                fileSHA = sha
                ledger.expect(
                    sha == r.audioSHA256, "audio.sha256", id: r.id, path: url.path,
                    "SHA-256 is \(sha.prefix(12))…; the manifest records \(r.audioSHA256.prefix(12))…")
                guard let decoded = try? AudioReader.read(url, options: AudioReadOptions(sampleRate: nil)) else {
                    ledger.fail("audio.decode", id: r.id, path: url.path, "the file does not decode")
                    return
                }
                let ok = decoded.sampleRate == r.sampleRate && decoded.samples.count == r.numSamples
                ledger.expect(
                    ok, "audio.decode", id: r.id, path: url.path,
                    "\(decoded.samples.count) samples at \(decoded.sampleRate) Hz; the manifest says "
                        + "\(r.numSamples) at \(r.sampleRate)"
                )
                guard ok else { return }
                samples = decoded.samples
            } else if info.audioRendered {
                ledger.fail("audio.sha256", id: r.id, path: url.path, "the audio file is missing")
                return
            } else {
                for c in ["audio.sha256", "audio.decode"] {
                    ledger.skip(c, "audio not rendered (a plan-only dataset; tkd render makes it)")
                }
            }
            guard let corpus, let noise else { return }
            if let c = r.clip, let clipRecipe = info.clipRecipe, let variant = info.clipVariant {
                Self.rederiveClip(
                    r, c, recipe: clipRecipe, pad: variant.clips.pad ?? .zeros, corpus: corpus, format: format,
                    expected: fileSHA ?? r.audioSHA256, path: url.path, sources: sources, ledger)
                return
            }
            // Sources.
            var clip: [Float]?
            if let k = r.keyword {
                let src: URL
                switch Self.verifiedSource(
                    k.source, sha256: k.sourceSHA256, corpus: corpus, field: "example '\(r.id)': keyword.source",
                    what: "the keyword clip")
                {
                case let .failure(f):
                    ledger.fail("source.keyword-sha256", id: r.id, path: f.path, f.detail)
                    return
                case let .success(url): src = url
                }
                ledger.pass("source.keyword-sha256")
                clip = Mixer.oneSecond(
                    try AudioReader.read(src, options: AudioReadOptions(sampleRate: r.sampleRate)).samples,
                    sampleRate: r.sampleRate)
            }
            guard
                let segments = try? r.noise.map({
                    try noise.samples($0.source, start: $0.sourceStartSample, count: $0.numSamples)
                })
            else {
                ledger.fail("audio.rerender", id: r.id, "the noise segments cannot be read")
                return
            }
            // Re-render from the manifest: the file's bytes (or, before rendering, the recorded SHA-256).
            let parts = Mixer.components(r, keywordClip: clip, segments: segments)
            let rendered = Mixer.mix(parts, scale: r.scale)
            let encoded = try AudioWriter.encode(rendered, sampleRate: r.sampleRate, format: format, path: url.path)
            let renderedSHA = SHA256.hex(encoded.data), expected = fileSHA ?? r.audioSHA256
            ledger.expect(
                renderedSHA == expected, "audio.rerender", id: r.id, path: url.path,
                "re-rendering the manifest gives SHA-256 \(renderedSHA.prefix(12))…; "
                    + "\(fileSHA == nil ? "the manifest records" : "the file has") \(expected.prefix(12))…"
            )
            let signal = samples ?? rendered
            guard let k = r.keyword, let clip else { return }
            // Locator, independent of the recorded keyword placement: normalised cross-correlation of the
            // source clip against the residual file/scale − noise, the noise rendered from the manifest's noise
            // segments (which audio.rerender checks on their own). Without the noise, the clip's NCC peak is
            // exact on every clean example at any SNR; a keyword moved by one sample is found where it is.
            let inverse = Float(1 / r.scale)
            let residual = zip(signal, parts.noise).map { $0 * inverse - $1 }
            let found = KeywordLocator.locate(clip, in: residual)
            ledger.expect(
                found.onset == k.onsetSample, "keyword.locate", id: r.id,
                "the keyword clip correlates best at sample \(found.onset) of the file without its noise (NCC "
                    + "\(String(format: "%.3f", found.score))); the manifest records \(k.onsetSample)"
            )
            // Achieved SNR from the file: keyword = clip·g placed at the onset, noise = file/scale − keyword.
            if let recorded = r.snrDBAchieved, let definition = r.snrDefinition {
                let span =
                    definition == .speechActive
                    ? k.speechOnsetSample..<k.speechOffsetSample : k.onsetSample..<k.offsetSample
                let g = pow(10, k.gainDB / 20), s = r.scale
                var ks = 0.0, ns = 0.0
                for t in span {
                    let kw = Double(clip[t - k.onsetSample]) * g
                    let nz = Double(signal[t]) / s - kw
                    ks += kw * kw
                    ns += nz * nz
                }
                let snr = 10 * log10(ks / max(ns, 1e-30))
                // The file holds (noise + keyword)·scale within half a quantisation step per sample, so the noise
                // estimate's norm is within √E of the true one (E = span · (step / 2 / scale)²): at high SNRs
                // that rounding, not the mix, dominates the estimate. The recorded SNR must lie in the interval
                // this leaves, widened by 0.05 dB.
                let step = samples == nil ? 0 : format.quantizationStep
                let e = (Double(span.count) * pow(0.5 * step / s, 2)).squareRoot(), n = ns.squareRoot()
                let low = 10 * log10(ks / pow(n + e, 2)), high = 10 * log10(ks / max(pow(max(n - e, 0), 2), 1e-30))
                ledger.expect(
                    recorded >= low - 0.05 && recorded <= high + 0.05, "snr.achieved", id: r.id,
                    String(
                        format: "the file's SNR on the %@ span is %.3f dB (%.3f…%.3f dB allowing for the file's "
                            + "quantisation); the manifest records %.3f dB",
                        definition.rawValue, snr, low, high, recorded))
            }
        }
        reporter.finish()
    }
}

/// Why a manifest's source file cannot be used: where it is (when it resolved) and what is wrong with it.
struct SourceFailure: Error, Sendable {
    var path: String?
    var detail: String
}

/// The resampled source clips of the last few clips verified: the patches of one clip (consecutive in id order)
/// read, hash and resample it once, not once a patch.
final class ClipSources: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: Result<[Float], SourceFailure>] = [:]
    private var order: [String] = []
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// The entry for `key`, made by `make` when absent (outside the lock; two threads may both make one).
    func value(_ key: String, make: () -> Result<[Float], SourceFailure>) -> Result<[Float], SourceFailure> {
        if let hit = lock.withLock({ entries[key] }) { return hit }
        let made = make()
        lock.withLock {
            if entries[key] == nil {
                entries[key] = made
                order.append(key)
                if order.count > capacity { entries[order.removeFirst()] = nil }
            }
        }
        return made
    }
}

extension DatasetVerifier {
    /// A source file a manifest names, resolved inside the corpus (a regular file, no way out) and checked against
    /// the SHA-256 the manifest records.
    static func verifiedSource(
        _ relative: String, sha256: String, corpus: URL, field: String, what: String
    ) -> Result<URL, SourceFailure> {
        let src: URL
        do { src = try ContainedPath.resolve(relative, under: corpus, field: field, regularFile: true) } catch {
            return .failure(SourceFailure(path: nil, detail: "\(error)"))
        }
        let found = try? SHA256.hex(fileAt: src)
        guard found == sha256 else {
            return .failure(
                SourceFailure(
                    path: src.path,
                    detail: found == nil
                        ? "\(what) is missing"
                        : "SHA-256 is \(found!.prefix(12))…; the manifest records \(sha256.prefix(12))…"))
        }
        return .success(src)
    }

    /// A clip dataset's example re-derived from its source clip: the clip's SHA-256, then resampled and cut as the
    /// manifest's `clip` says (`ClipCutter`), encoded, and its SHA-256 against the file's.
    static func rederiveClip(
        _ r: ExampleRecord, _ c: ClipExcerpt, recipe: ClipRecipe, pad: ClipRecipe.ClipHandling.Pad, corpus: URL,
        format: AudioFormat, expected: String, path: String, sources: ClipSources, _ ledger: Ledger
    ) {
        let source = sources.value("\(c.source)\t\(c.sourceSHA256)\t\(r.sampleRate)") {
            verifiedSource(
                c.source, sha256: c.sourceSHA256, corpus: corpus, field: "example '\(r.id)': clip.source",
                what: "the source clip"
            ).flatMap { src in
                Result {
                    let audio = try AudioReader.read(src, options: AudioReadOptions(sampleRate: nil))
                    return try ClipCutter.resample(
                        audio.samples, from: audio.sampleRate, to: r.sampleRate, quality: recipe.output.resampleQuality)
                }.mapError { SourceFailure(path: src.path, detail: "\($0)") }
            }
        }
        let clip: [Float]
        switch source {
        case let .failure(f):
            ledger.fail("source.clip-sha256", id: r.id, path: f.path, f.detail)
            return
        case let .success(samples): clip = samples
        }
        ledger.pass("source.clip-sha256")
        guard clip.count == c.clipNumSamples, c.startSample + c.numSamples <= clip.count else {
            ledger.fail(
                "audio.rerender", id: r.id, path: path,
                "the resampled clip has \(clip.count) samples; the manifest's clip says \(c.clipNumSamples)")
            return
        }
        do {
            let cut = ClipCutter.Excerpt(start: c.startSample, count: c.numSamples, length: r.numSamples)
            let encoded = try AudioWriter.encode(
                ClipCutter.render(clip, cut, pad: pad), sampleRate: r.sampleRate, format: format, path: path)
            let sha = SHA256.hex(encoded.data)
            ledger.expect(
                sha == expected, "audio.rerender", id: r.id, path: path,
                "re-deriving the example from its clip gives SHA-256 \(sha.prefix(12))…; expected "
                    + "\(expected.prefix(12))…")
        } catch {
            ledger.fail("audio.rerender", id: r.id, path: path, "\(error)")
        }
    }
}
