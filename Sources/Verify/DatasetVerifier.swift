import AudioIO
import DatasetFormat
import Features
import Foundation
import Synthesis
import TKDCore
import TensorStore

/// One failed check: which check, which example (when it concerns one) and what was seen.
public struct VerifyFailure: Sendable, Equatable, Codable {
    public var check: String
    public var id: String?
    public var path: String?
    public var detail: String
}

/// A check's tally.
public struct VerifyCheck: Sendable, Equatable, Codable {
    public var name: String
    public var checked: Int
    public var failed: Int
    /// Why the check did not run (e.g. no `--corpus` for the re-render).
    public var skipped: String?
}

/// What `tkd verify` found (`--json` prints it).
public struct VerifyReport: Sendable, Equatable, Codable {
    public var dataset: String
    public var examples: Int
    public var audioChecked: Int
    public var checks: [VerifyCheck]
    public var failures: [VerifyFailure]
    /// Rollout localisation per teacher cache (fingerprint → summary line).
    public var teachers: [String: String]
    public var passed: Bool { failures.isEmpty }

    enum CodingKeys: String, CodingKey {
        case dataset, examples, checks, failures, teachers, passed
        case audioChecked = "audio_checked"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dataset, forKey: .dataset)
        try c.encode(examples, forKey: .examples)
        try c.encode(audioChecked, forKey: .audioChecked)
        try c.encode(checks, forKey: .checks)
        try c.encode(failures, forKey: .failures)
        try c.encode(teachers, forKey: .teachers)
        try c.encode(passed, forKey: .passed)
    }

    public init(
        dataset: String, examples: Int, audioChecked: Int, checks: [VerifyCheck], failures: [VerifyFailure],
        teachers: [String: String]
    ) {
        self.dataset = dataset
        self.examples = examples
        self.audioChecked = audioChecked
        self.checks = checks
        self.failures = failures
        self.teachers = teachers
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataset = try c.decode(String.self, forKey: .dataset)
        examples = try c.decode(Int.self, forKey: .examples)
        audioChecked = try c.decode(Int.self, forKey: .audioChecked)
        checks = try c.decode([VerifyCheck].self, forKey: .checks)
        failures = try c.decode([VerifyFailure].self, forKey: .failures)
        teachers = try c.decode([String: String].self, forKey: .teachers)
    }
}

/// Checks everything a dataset claims (`tkd verify`): manifests, splits, keyword windows, audio
/// (hash, re-render from the manifest, an independent keyword locator, the achieved SNR), noise sources,
/// feature stores and teacher caches. Nothing is modified.
public struct DatasetVerifier: Sendable {
    public var dataset: URL
    /// The source corpus (keyword clips, `_background_noise_`): needed for the re-render, the locator,
    /// the SNR and the noise-source checks, which are skipped without it.
    public var corpus: URL?
    /// Where recipe noise paths that are not in the corpus are resolved.
    public var noiseBase: URL?
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
        let records = manifests(info, ledger)
        structure(info, records, ledger)
        let audioRecords = sampled(records)
        try noiseSources(info, ledger)
        try audio(info, audioRecords, ledger)
        let manifestsSHA = try? ManifestFingerprint.sha256(dataset: dataset)
        try stores(records, manifestsSHA: manifestsSHA, ledger)
        let teachers = try teacherCaches(records, manifestsSHA: manifestsSHA, ledger)
        // Failures in manifest order of checks, then example, for a stable report.
        let failures = ledger.failures.sorted {
            ($0.check, $0.id ?? "", $0.detail) < ($1.check, $1.id ?? "", $1.detail)
        }
        return VerifyReport(
            dataset: dataset.path, examples: records.count, audioChecked: audioRecords.count, checks: ledger.checks,
            failures: failures, teachers: teachers)
    }

    /// Every `sample`-th example in manifest order (all without `--sample`).
    func sampled(_ records: [ExampleRecord]) -> [ExampleRecord] {
        guard let k = sample, k < records.count, k > 0 else { return records }
        return (0..<k).map { records[$0 * records.count / k] }
    }

    // MARK: Manifests

    func manifests(_ info: DatasetInfo, _ ledger: Ledger) -> [ExampleRecord] {
        var records: [ExampleRecord] = []
        var ids: [String: String] = [:]
        var counts: [String: [String: Int]] = [:]
        for split in Split.allCases {
            let url = DatasetLayout(dataset).manifest(split)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                ledger.fail("manifest.present", path: url.path, "the manifest is missing")
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
                counts[split.rawValue, default: [:]][r.label, default: 0] += 1
                records.append(r)
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
        return records
    }

    // MARK: Splits and windows

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
                let sr = r.sampleRate
                ledger.expect(
                    k.onsetSample >= 0 && k.offsetSample <= r.numSamples && k.offsetSample - k.onsetSample == sr,
                    "example.keyword-window", id: r.id,
                    "keyword window [\(k.onsetSample), \(k.offsetSample)) is not one second inside [0, \(r.numSamples))"
                )
                ledger.expect(
                    k.onsetSample <= k.speechOnsetSample && k.speechOnsetSample < k.speechOffsetSample
                        && k.speechOffsetSample <= k.offsetSample,
                    "example.speech-span", id: r.id,
                    "speech span [\(k.speechOnsetSample), \(k.speechOffsetSample)) is not inside the keyword window "
                        + "[\(k.onsetSample), \(k.offsetSample))"
                )
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
                ledger.expect(
                    seg.destStartSample >= 0 && seg.destStartSample + seg.numSamples <= r.numSamples,
                    "example.noise-window", id: r.id,
                    "noise segment [\(seg.destStartSample), \(seg.destStartSample + seg.numSamples)) leaves [0, "
                        + "\(r.numSamples))"
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

    func noiseURL(_ source: String) -> URL? {
        if source.hasPrefix("/") { return URL(fileURLWithPath: source) }
        if source.hasPrefix(CorpusScanner.noiseFolder + "/") { return corpus?.appendingPathComponent(source) }
        return (noiseBase ?? corpus)?.appendingPathComponent(source)
    }

    func noiseSources(_ info: DatasetInfo, _ ledger: Ledger) throws {
        for f in info.noiseFiles {
            guard let url = noiseURL(f.source) else {
                ledger.skip("source.noise-sha256", "no --corpus")
                continue
            }
            let found = try? SHA256.hex(fileAt: url)
            ledger.expect(
                found == f.sha256, "source.noise-sha256", path: url.path,
                found == nil
                    ? "the noise file is missing"
                    : "SHA-256 is \(found!.prefix(12))…; dataset.json records \(f.sha256.prefix(12))…")
        }
    }

    func audio(_ info: DatasetInfo, _ records: [ExampleRecord], _ ledger: Ledger) throws {
        let noise: NoisePool? = corpus.map { _ in
            var urls: [String: URL] = [:]
            for f in info.noiseFiles { if let u = noiseURL(f.source) { urls[f.source] = u } }
            return NoisePool(files: info.noiseFiles, urls: urls, sampleRate: info.sampleRate)
        }
        if corpus == nil {
            for c in ["audio.rerender", "keyword.locate", "snr.achieved", "source.keyword-sha256"] {
                ledger.skip(c, "no --corpus")
            }
        }
        let reporter = ProgressReporter(label: "verify audio", total: records.count, mode: progress)
        let root = dataset, corpus = self.corpus, format = info.recipe.output.format, info = info
        try WorkPool(jobs: jobs).forEach(records.count) { i in
            defer { reporter.advance() }
            let r = records[i]
            let url = DatasetLayout(root).audio(r)
            // The file's SHA-256 and samples; a plan-only dataset (audio_rendered false) may have none yet.
            var fileSHA: String?, samples: [Float]?
            if let bytes = FileManager.default.contents(atPath: url.path) {
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
            // Sources.
            var clip: [Float]?
            if let k = r.keyword {
                let src = corpus.appendingPathComponent(k.source)
                let found = try? SHA256.hex(fileAt: src)
                guard found == k.sourceSHA256 else {
                    ledger.fail(
                        "source.keyword-sha256", id: r.id, path: src.path,
                        found == nil
                            ? "the keyword clip is missing"
                            : "SHA-256 is \(found!.prefix(12))…; the manifest records \(k.sourceSHA256.prefix(12))…")
                    return
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
            let rendered = Mixer.mix(Mixer.components(r, keywordClip: clip, segments: segments), scale: r.scale)
            let encoded = try AudioWriter.encode(rendered, sampleRate: r.sampleRate, format: format, path: url.path)
            let renderedSHA = SHA256.hex(encoded.data), expected = fileSHA ?? r.audioSHA256
            ledger.expect(
                renderedSHA == expected, "audio.rerender", id: r.id, path: url.path,
                "re-rendering the manifest gives SHA-256 \(renderedSHA.prefix(12))…; "
                    + "\(fileSHA == nil ? "the manifest records" : "the file has") \(expected.prefix(12))…"
            )
            let signal = samples ?? rendered
            guard let k = r.keyword, let clip else { return }
            // Independent locator: normalised cross-correlation of the file against the source clip.
            let found = KeywordLocator.locate(clip, in: signal)
            ledger.expect(
                abs(found.onset - k.onsetSample) <= 1, "keyword.locate", id: r.id,
                "the keyword clip correlates best at sample \(found.onset) (NCC "
                    + "\(String(format: "%.3f", found.score))); the manifest records \(k.onsetSample)"
            )
            // Achieved SNR from the file: keyword = clip·g placed at the onset, noise = file/scale − keyword.
            if let recorded = r.snrDBAchieved, let definition = r.snrDefinition {
                let span =
                    definition == "speech_active"
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
                ledger.expect(
                    abs(snr - recorded) <= 0.05, "snr.achieved", id: r.id,
                    String(
                        format: "the file's SNR on the %@ span is %.3f dB; the manifest records %.3f dB", definition,
                        snr, recorded))
            }
        }
        reporter.finish()
    }

    // MARK: Stores

    /// The store's own check (`ShardedStoreReader.verify`): shard files against the index's SHA-256, and an
    /// entry computed from the manifest's audio for every example.
    func checkStore(
        _ folder: URL, kind: String, keys: [(key: String, record: ExampleRecord)], manifestsSHA: String?,
        recorded: String?, _ ledger: Ledger
    ) -> StoreVerification? {
        let check = "\(kind).\(folder.lastPathComponent)"
        if let recorded, let manifestsSHA {
            ledger.expect(
                recorded == manifestsSHA, "\(check).fingerprint", path: folder.path,
                "made for manifests \(recorded.prefix(12))…; the dataset's are \(manifestsSHA.prefix(12))… (stale)")
        }
        let result = ShardedStoreReader.verify(folder, expected: keys.map { ($0.key, $0.record.audioSHA256) })
        if let problem = result.indexProblem {
            ledger.fail("\(check).index", path: folder.appendingPathComponent(StoreIndex.fileName).path, problem)
            return nil
        }
        for s in result.shards {
            ledger.expect(
                s.problem == nil, "\(check).shards", path: folder.appendingPathComponent(s.name).path, s.problem ?? "")
        }
        for (finding, key) in zip(result.entries, keys) {
            ledger.expect(
                finding.problem == nil, "\(check).entries", id: key.record.id, path: folder.path, finding.problem ?? "")
        }
        return result
    }

    func stores(_ records: [ExampleRecord], manifestsSHA: String?, _ ledger: Ledger) throws {
        for folder in DatasetLayout(dataset).featureStores {
            guard let config = try? FeatureStoreConfig.load(folder) else {
                ledger.fail(
                    "features.\(folder.lastPathComponent).config",
                    path: folder.appendingPathComponent(FeatureStoreConfig.fileName).path,
                    "missing or unreadable feature store config")
                continue
            }
            guard
                let result = checkStore(
                    folder, kind: "features", keys: records.map { ($0.id, $0) },
                    manifestsSHA: manifestsSHA, recorded: config.manifestsSHA256, ledger),
                let index = result.index
            else { continue }
            frames(index, config, records, folder, ledger)
        }
    }

    /// Every entry's frame count against what the store's front end gives for the example's length.
    func frames(
        _ index: StoreIndex, _ config: FeatureStoreConfig, _ records: [ExampleRecord], _ folder: URL, _ ledger: Ledger
    ) {
        for r in records {
            guard let e = index.entries[r.id] else { continue }
            let frames = config.frontEnd.frameCount(samples: r.numSamples)
            ledger.expect(
                e.shape.first == frames, "features.\(folder.lastPathComponent).frames", id: r.id, path: folder.path,
                "\(e.shape.first ?? 0) frames; preset \(config.preset) gives \(frames) for \(r.numSamples) samples")
        }
    }

    func teacherCaches(_ records: [ExampleRecord], manifestsSHA: String?, _ ledger: Ledger) throws -> [String: String] {
        var summaries: [String: String] = [:]
        for folder in DatasetLayout(dataset).teacherCaches {
            let check = "teachers.\(folder.lastPathComponent)"
            guard let info = try? TeacherCacheInfo.load(folder) else {
                ledger.fail(
                    "\(check).config", path: folder.appendingPathComponent(TeacherCacheInfo.fileName).path,
                    "missing or unreadable cache.json")
                continue
            }
            ledger.expect(
                info.fingerprint.hasPrefix(folder.lastPathComponent), "\(check).fingerprint",
                path: folder.appendingPathComponent(TeacherCacheInfo.fileName).path,
                "the folder name is not the prefix of the fingerprint \(info.fingerprint.prefix(16))")
            guard
                let result = checkStore(
                    folder, kind: "teachers", keys: records.map { (TeacherCacheInfo.rolloutKey($0.id), $0) },
                    manifestsSHA: manifestsSHA, recorded: info.manifestsSHA256, ledger),
                result.intact, let reader = try? ShardedStoreReader(folder)
            else { continue }
            var localisation = RolloutLocalisation()
            for r in records {
                let key = TeacherCacheInfo.rolloutKey(r.id)
                guard let e = reader.index.entries[key], let v = try? reader.tensor(key).values else { continue }
                let t = e.shape.first ?? 0, expected = Double(r.numSamples) / Double(info.frameHop)
                ledger.expect(
                    abs(Double(t) - expected) <= 2, "\(check).frames", id: r.id, path: folder.path,
                    "\(t) rollout frames; \(r.numSamples) samples at hop \(info.frameHop) give about \(Int(expected))")
                let sum = v.reduce(0.0) { $0 + Double($1) }
                ledger.expect(
                    abs(sum - 1) < 1e-3 && v.allSatisfy { $0 >= 0 && $0.isFinite }, "\(check).rollout", id: r.id,
                    path: folder.path, "the rollout sums to \(sum) or has negative / non-finite entries")
                guard let k = r.keyword, t > 0 else { continue }
                localisation.add(
                    v, centres: info.frameCentres(t), speechOnset: k.speechOnsetSample,
                    speechOffset: k.speechOffsetSample)
            }
            if localisation.examples > 0 {
                summaries[info.fingerprint] = String(
                    format:
                        "%.1f %% of the rollout mass inside the speech span (uniform %.1f %%), peak inside it in "
                        + "%.1f %% of %d keyword examples",
                    100 * localisation.massInSpeech, 100 * localisation.spanShare, 100 * localisation.peakInSpeech,
                    localisation.examples)
            }
        }
        return summaries
    }
}

/// Finds a clip in a longer signal by normalised cross-correlation over every lag, independently of the
/// generator: NCC(τ) = Σ x[τ+i]·c[i] / (‖x[τ ..< τ+m]‖·‖c‖), the numerator by FFT, the window energies by
/// prefix sums.
public enum KeywordLocator {
    public static func locate(_ clip: [Float], in x: [Float]) -> (onset: Int, score: Double) {
        let m = clip.count, n = x.count
        guard m > 0, n >= m else { return (0, 0) }
        let xd = x.map(Double.init), cd = clip.map(Double.init)
        let r = CrossCorrelation.valid(xd, cd)
        let norm = cd.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var prefix = [Double](repeating: 0, count: n + 1)
        for i in 0..<n { prefix[i + 1] = prefix[i] + xd[i] * xd[i] }
        var best = (onset: 0, score: -Double.infinity)
        for (tau, dot) in r.enumerated() {
            let energy = prefix[tau + m] - prefix[tau]
            guard energy > 0, norm > 0 else { continue }
            let s = dot / (energy.squareRoot() * norm)
            if s > best.score { best = (tau, s) }
        }
        return best
    }
}
