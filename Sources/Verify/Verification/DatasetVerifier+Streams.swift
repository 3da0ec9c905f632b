import AudioIO
import DatasetFormat
import Foundation
import Synthesis
import TKDCore

/// A stream dataset's checks (`kind: stream`): the manifests (schema, canonical form, ids, splits, labels, counts),
/// the timeline (events and silences in order, no closer than the recipe's gap), the splits (speakers and noise
/// regions disjoint), the sources, and each stream's audio: its hash, a re-render from the manifest, every event
/// found where the manifest puts it by the residual locator, and every event's achieved SNR.
extension DatasetVerifier {
    func runStreams(_ info: DatasetInfo, recipe: StreamRecipe) throws -> VerifyReport {
        let ledger = Ledger()
        let (all, records) = streamManifests(info, ledger)
        streamStructure(info, recipe: recipe, records, ledger)
        let audioRecords: [StreamRecord] = {
            guard let k = sample, k < records.count, k > 0 else { return records }
            return (0..<k).map { records[$0 * records.count / k] }
        }()
        let noiseFiles = noiseSources(info, ledger)
        try streamAudio(info, audioRecords, noiseFiles: noiseFiles, ledger)
        let failures = ledger.failures.sorted {
            ($0.check, $0.id ?? "", $0.detail) < ($1.check, $1.id ?? "", $1.detail)
        }
        return VerifyReport(
            dataset: dataset.path, examples: all.count, audioChecked: audioRecords.count, checks: ledger.checks,
            failures: failures, teachers: [:])
    }

    func streamManifests(_ info: DatasetInfo, _ ledger: Ledger) -> (all: [StreamRecord], usable: [StreamRecord]) {
        var records: [StreamRecord] = [], usable: [StreamRecord] = []
        var ids: [String: String] = [:]
        var counts: [String: [String: Int]] = [:], totals: [String: Int] = [:]
        for split in Split.allCases {
            let url = DatasetLayout(dataset).manifest(split)
            guard let data = (try? RegularFile.contents(url)) ?? nil else {
                ledger.fail("manifest.present", path: url.path, "the manifest is missing or unreadable")
                continue
            }
            ledger.pass("manifest.present")
            var previous: String?
            for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
            where !line.isEmpty {
                let where_ = "\(url.path):\(n + 1)"
                guard let r = try? JSONDecoder().decode(StreamRecord.self, from: Data(line)) else {
                    ledger.fail("manifest.schema", path: where_, "line \(n + 1) is not a stream record")
                    continue
                }
                ledger.pass("manifest.schema")
                ledger.expect(
                    (try? r.canonicalJSON()) == Data(line), "manifest.canonical", id: r.id, path: where_,
                    "the line is not in canonical form (keys sorted, seconds beside samples)")
                if let previous, previous >= r.id {
                    ledger.fail("manifest.canonical", id: r.id, path: where_, "records are not sorted by id")
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
                ledger.expect(
                    r.sampleRate == info.sampleRate, "manifest.sample-rate", id: r.id, path: where_,
                    "sample_rate is \(r.sampleRate); dataset.json says \(info.sampleRate)")
                for (i, e) in r.events.enumerated() {
                    let index = e.label.flatMap(info.labels.firstIndex(of:))
                    ledger.expect(
                        index == e.labelIndex && (e.kind == .distractor || e.label == e.word), "manifest.label-index",
                        id: r.id, path: where_,
                        "events[\(i)] (\(e.kind.rawValue) '\(e.word)') has label \(e.label ?? "null") and label_index "
                            + "\(e.labelIndex.map(String.init) ?? "null"); dataset.json's labels give "
                            + "\(index.map(String.init) ?? "none")")
                    if let label = e.label { counts[split.rawValue, default: [:]][label, default: 0] += 1 }
                }
                totals[split.rawValue, default: 0] += 1
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
            ledger.expect(
                (info.totals[split] ?? 0) == (totals[split] ?? 0), "manifest.counts",
                path: DatasetLayout(dataset).info.path,
                "\(split): \(totals[split] ?? 0) streams in the manifest, dataset.json counts "
                    + "\(info.totals[split] ?? 0)")
            let expected = info.counts[split] ?? [:], found = counts[split] ?? [:]
            for label in Set(expected.keys).union(found.keys).sorted() {
                ledger.expect(
                    (expected[label] ?? 0) == (found[label] ?? 0), "manifest.counts",
                    path: DatasetLayout(dataset).info.path,
                    "\(split)/\(label): \(found[label] ?? 0) events in the manifest, dataset.json counts "
                        + "\(expected[label] ?? 0)")
            }
        }
        return (records, usable)
    }

    func streamStructure(_ info: DatasetInfo, recipe: StreamRecipe, _ records: [StreamRecord], _ ledger: Ledger) {
        var speakers: [String: Split] = [:]
        for r in records {
            // The timeline: events and silences in time order, each pair at least the recipe's gap apart.
            let gap = Int((recipe.events.minGapSeconds * Double(r.sampleRate)).rounded())
            let items =
                (r.events.map { ("event '\($0.word)'", $0.placement.onsetSample, $0.placement.offsetSample) }
                + r.silences.map { ("silence", $0.onsetSample, $0.offsetSample) }).sorted { $0.1 < $1.1 }
            var ok = true
            for (a, b) in zip(items, items.dropFirst()) where b.1 - a.2 < gap {
                ok = false
                ledger.fail(
                    "stream.gaps", id: r.id,
                    "\(a.0) ends at sample \(a.2) and \(b.0) starts at \(b.1): \(b.1 - a.2) samples apart; the recipe "
                        + "allows no less than \(gap) (events.min_gap_seconds)")
            }
            if ok { ledger.pass("stream.gaps") }
            ledger.expect(
                r.group.isEmpty == false && recipe.streams.contains { $0.name == r.group }, "stream.group", id: r.id,
                "group '\(r.group)' is not one of the recipe's stream groups")
            if let g = recipe.streams.first(where: { $0.name == r.group }) {
                let t = r.events.filter { $0.kind == .target }.count
                ledger.expect(
                    t == g.targets && r.events.count - t == g.distractors, "stream.group", id: r.id,
                    "\(t) targets and \(r.events.count - t) distractors; group '\(g.name)' has \(g.targets) and "
                        + "\(g.distractors)")
            }
            for e in r.events {
                if let s = speakers[e.placement.speaker], s != r.split {
                    ledger.fail(
                        "split.speakers-disjoint", id: r.id,
                        "speaker '\(e.placement.speaker)' is in \(s.rawValue) and \(r.split.rawValue)")
                } else {
                    speakers[e.placement.speaker] = r.split
                    ledger.pass("split.speakers-disjoint")
                }
            }
            for seg in r.noise {
                guard let file = info.noiseFiles.first(where: { $0.source == seg.source }) else {
                    ledger.fail(
                        "split.noise-regions", id: r.id, "noise '\(seg.source)' is not in dataset.json's noise_files")
                    continue
                }
                let region = file.region(r.split)
                let used = seg.sourceStartSample..<(seg.sourceStartSample + seg.numSamples)
                ledger.expect(
                    used.lowerBound >= region.lowerBound && used.upperBound <= region.upperBound, "split.noise-regions",
                    id: r.id,
                    "noise samples [\(used.lowerBound), \(used.upperBound)) of '\(seg.source)' leave the "
                        + "\(r.split.rawValue) region [\(region.lowerBound), \(region.upperBound))")
            }
        }
        for f in info.noiseFiles {
            let regions = Split.allCases.map { ($0, f.region($0)) }.filter { !$0.1.isEmpty }
            for i in regions.indices {
                for j in regions.indices where j > i {
                    ledger.expect(
                        !regions[i].1.overlaps(regions[j].1), "split.noise-disjoint", path: f.source,
                        "regions of \(regions[i].0.rawValue) and \(regions[j].0.rawValue) overlap")
                }
            }
        }
    }

    func streamAudio(
        _ info: DatasetInfo, _ records: [StreamRecord], noiseFiles: [String: URL], _ ledger: Ledger
    ) throws {
        guard let corpus else {
            for c in ["audio.rerender", "event.locate", "snr.achieved", "source.keyword-sha256"] {
                ledger.skip(c, "no --corpus")
            }
            for r in records { streamFile(r, info: info, ledger) }
            return
        }
        let noise = NoisePool(files: info.noiseFiles, urls: noiseFiles, sampleRate: info.sampleRate)
        let reporter = ProgressReporter(label: "verify streams", total: records.count, mode: progress)
        let format = info.audioFormat
        try WorkPool(jobs: jobs).forEach(records.count) { i in
            defer { reporter.advance() }
            let r = records[i]
            guard let (url, fileSHA, samples) = streamFile(r, info: info, ledger) else { return }
            var clips: [[Float]] = []
            for (j, e) in r.events.enumerated() {
                switch Self.verifiedSource(
                    e.placement.source, sha256: e.placement.sourceSHA256, corpus: corpus,
                    field: "stream '\(r.id)': events[\(j)].placement.source", what: "the event's clip")
                {
                case let .failure(f):
                    ledger.fail("source.keyword-sha256", id: r.id, path: f.path, f.detail)
                    return
                case let .success(src):
                    ledger.pass("source.keyword-sha256")
                    clips.append(
                        Mixer.oneSecond(
                            try AudioReader.read(src, options: AudioReadOptions(sampleRate: r.sampleRate)).samples,
                            sampleRate: r.sampleRate))
                }
            }
            guard
                let segments = try? r.noise.map({
                    try noise.samples($0.source, start: $0.sourceStartSample, count: $0.numSamples)
                })
            else {
                ledger.fail("audio.rerender", id: r.id, "the noise segments cannot be read")
                return
            }
            let bed = Mixer.renderNoise(r.noise, samples: segments, range: 0..<r.numSamples, unitGain: false)
            let parts = StreamMixer.components(r, clips: clips, bed: bed)
            let encoded = try AudioWriter.encode(
                Mixer.mix(parts, scale: r.scale), sampleRate: r.sampleRate, format: format, path: url.path)
            let renderedSHA = SHA256.hex(encoded.data)
            ledger.expect(
                renderedSHA == fileSHA, "audio.rerender", id: r.id, path: url.path,
                "re-rendering the manifest gives SHA-256 \(renderedSHA.prefix(12))…; the file has "
                    + "\(fileSHA.prefix(12))…")
            // Each event, found independently of its recorded onset within a second either side of it: normalised
            // cross-correlation of its clip against the residual file/scale − bed (the bed rendered from the
            // manifest's segments, which audio.rerender checks on their own).
            let inverse = Float(1 / r.scale)
            for (j, e) in r.events.enumerated() {
                let k = e.placement
                let lo = max(0, k.onsetSample - r.sampleRate), hi = min(r.numSamples, k.offsetSample + r.sampleRate)
                let residual = (lo..<hi).map { samples[$0] * inverse - bed[$0] }
                let found = KeywordLocator.locate(clips[j], in: residual)
                ledger.expect(
                    found.onset + lo == k.onsetSample, "event.locate", id: r.id,
                    "events[\(j)] ('\(e.word)'): its clip correlates best at sample \(found.onset + lo) of the stream "
                        + "without its noise (NCC \(String(format: "%.3f", found.score))); the manifest records "
                        + "\(k.onsetSample)")
                guard let recorded = e.snrDBAchieved else { continue }
                // As for clips: the event from the manifest, the bed as file/scale − event, quantisation allowed for.
                let span = e.snrSpan(r.snrDefinition), g = pow(10, k.gainDB / 20), s = r.scale
                var ks = 0.0, ns = 0.0
                for t in span {
                    let kw = Double(clips[j][t - k.onsetSample]) * g
                    let nz = Double(samples[t]) / s - kw
                    ks += kw * kw
                    ns += nz * nz
                }
                let snr = 10 * log10(ks / max(ns, 1e-30))
                let e2 = (Double(span.count) * pow(0.5 * format.quantizationStep / s, 2)).squareRoot()
                let n = ns.squareRoot()
                let low = 10 * log10(ks / pow(n + e2, 2)), high = 10 * log10(ks / max(pow(max(n - e2, 0), 2), 1e-30))
                ledger.expect(
                    recorded >= low - 0.05 && recorded <= high + 0.05, "snr.achieved", id: r.id,
                    String(
                        format: "events[%d]: the file's SNR on the %@ span is %.3f dB (%.3f…%.3f dB allowing for the "
                            + "file's quantisation); the manifest records %.3f dB",
                        j, r.snrDefinition.rawValue, snr, low, high, recorded))
            }
        }
        reporter.finish()
    }

    /// The stream's file: inside the dataset, its SHA-256 against the manifest's, decoded at the recorded length.
    @discardableResult
    func streamFile(_ r: StreamRecord, info: DatasetInfo, _ ledger: Ledger) -> (URL, String, [Float])? {
        let url: URL, bytes: Data
        do {
            url = try DatasetLayout(dataset).audio(r, existing: false)
            guard let b = try RegularFile.contents(url) else {
                ledger.fail("audio.sha256", id: r.id, path: url.path, "the audio file is missing")
                return nil
            }
            bytes = b
        } catch {
            ledger.fail("audio.sha256", id: r.id, "\(error)")
            return nil
        }
        let sha = SHA256.hex(bytes)
        ledger.expect(
            sha == r.audioSHA256, "audio.sha256", id: r.id, path: url.path,
            "SHA-256 is \(sha.prefix(12))…; the manifest records \(r.audioSHA256.prefix(12))…")
        guard let decoded = try? AudioReader.read(url, options: AudioReadOptions(sampleRate: nil)),
            decoded.sampleRate == r.sampleRate, decoded.samples.count == r.numSamples
        else {
            ledger.fail(
                "audio.decode", id: r.id, path: url.path,
                "the file does not decode to \(r.numSamples) samples at \(r.sampleRate) Hz")
            return nil
        }
        ledger.pass("audio.decode")
        return (url, sha, decoded.samples)
    }
}
