import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// One stream's smoothed scores, as the detector computed them: every window's end, the smoothed probability of
/// each watched label, and the attention's peak when the model localises.
public struct SmoothedScores: Sendable {
    /// Window ends, in samples from the stream's start.
    public var ends: [Int] = []
    /// `ends.count × watched.count`, row-major.
    public var smoothed: [Float] = []
    public var peaks: [Double?] = []
    public init() {}
}

/// Runs a detector over every stream of a stream dataset's split and measures it as a device is measured: false
/// rejects against false accepts per hour over a threshold sweep (the DET curve), FRR at 0.5 and 1 FA/hr, the area
/// to 2 FA/hr, detection latency and, for models that localise, where the attention peaked.
///
/// Each stream is scored once (the detector's windows, smoothing and hop); the trigger logic — fire when the smoothed
/// probability reaches the threshold and the label's last detection is at least the cooldown earlier — is replayed
/// for every threshold on the smoothed scores. Matching: a detection of label ℓ is a hit when its window's end lies
/// in `[onset, offset + tolerance]` of a target event of ℓ not yet hit (the earliest such); every other detection —
/// of a distractor, of another label, in no event, or a second one on an event already hit — is a false accept.
/// Each target counts once. FA/hr divides the false accepts of all the split's streams by all their hours. Memory
/// holds one stream's scores at a time.
public final class StreamEvaluator {
    public let scorer: WindowScoring
    public let settings: DeployManifest.DetectorSettings
    public let toleranceMs: Int
    public let thresholds: [Double]
    public let batch: Int
    /// `Detector.stateResetWindows`.
    public let stateResetWindows: Int

    public init(
        scorer: WindowScoring, settings: DeployManifest.DetectorSettings, toleranceMs: Int, thresholds: [Double],
        batch: Int = 16, stateResetWindows: Int = 0
    ) throws {
        guard toleranceMs >= 0 else {
            throw DeployError.input(path: "--tolerance-ms", reason: "is \(toleranceMs); expected ≥ 0 milliseconds")
        }
        guard !thresholds.isEmpty, thresholds.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw DeployError.input(
                path: "threshold sweep",
                reason: "holds \(thresholds.first { !($0 >= 0 && $0 <= 1) } ?? .nan); "
                    + "expected thresholds in [0, 1]")
        }
        self.scorer = scorer
        self.settings = settings
        self.toleranceMs = toleranceMs
        self.thresholds = thresholds
        self.batch = batch
        self.stateResetWindows = stateResetWindows
    }

    /// The sweep of microWakeWord's evaluation: 0, 0.01, …, 1.
    public static func sweep(step: Double = 0.01) -> [Double] {
        let n = Int((1 / step).rounded())
        return (0...n).map { Double($0) / Double(n) }
    }

    /// The tolerance used unless told: how long after its one-second window ends a keyword can still be wholly in
    /// view of the smoothed detector — the model's window less a second, plus (smoothing − 1) hops of averaging.
    public static func defaultToleranceMs(
        windowSamples: Int, sampleRate: Int, settings: DeployManifest.DetectorSettings
    ) -> Int {
        max(0, windowSamples * 1000 / sampleRate - 1000) + (settings.smoothingWindows - 1) * settings.hopMs
    }

    /// What every threshold accumulates over the streams.
    struct Tally {
        var hits: [Int]  // per watched label
        var falseAccepts: [Int]
        var latencies: [Double] = []
        var peakDistances: [Double] = []
        var uniformShares: [Double] = []
        /// Filled when not nil: every detection (watched label, window end, hit).
        var detections: [(label: Int, end: Int, hit: Bool)]?
        /// Every counted target so far (streams in order, events in order): hit or not.
        var targetsHit: [Bool] = []
    }

    /// - Throws: `DatasetFormatError` for the dataset, `DeployError` for labels or rate that differ from the model's,
    ///   and the detector's errors.
    public func evaluate(
        dataset: URL, split: Split, modelName: String, progress: ((Int, Int) -> Void)? = nil
    ) throws
        -> StreamMetrics
    {
        let info = try DatasetInfo.load(dataset)
        guard info.isStream else {
            throw DeployError.input(
                path: DatasetLayout(dataset).info.path,
                reason: "is not a stream dataset (no stream_recipe); expected one made from a kind: stream recipe")
        }
        guard info.labels == scorer.labels else {
            throw DeployError.input(
                path: DatasetLayout(dataset).info.path,
                reason: "labels \(info.labels.joined(separator: ",")) differ from the model's "
                    + "\(scorer.labels.joined(separator: ",")); expected the same label map")
        }
        guard info.sampleRate == scorer.sampleRate else {
            throw DeployError.input(
                path: DatasetLayout(dataset).info.path,
                reason: "sample_rate is \(info.sampleRate) Hz; the model's is \(scorer.sampleRate) Hz")
        }
        let records = try StreamRecord.loadAll(dataset: dataset).filter { $0.split == split }
        guard !records.isEmpty else {
            throw DeployError.input(
                path: DatasetLayout(dataset).manifest(split).path, reason: "holds no streams; expected at least one")
        }
        let detector = try Detector(
            scorer: scorer, settings: settings, batch: batch, stateResetWindows: stateResetWindows)
        let labels = scorer.labels
        let watch = settings.labels.compactMap { labels.firstIndex(of: $0) }
        var tallies = thresholds.map { _ in
            Tally(hits: [Int](repeating: 0, count: watch.count), falseAccepts: [Int](repeating: 0, count: watch.count))
        }
        var targets = [Int](repeating: 0, count: watch.count)
        var seconds = 0.0, negative = 0.0, windows = 0
        var timeline: StreamTimeline?
        for (i, r) in records.enumerated() {
            let url = try DatasetLayout(dataset).audio(r)
            var scores = SmoothedScores()
            _ = try detector.run(
                url, name: r.id, onDetection: { _ in },
                onSmoothed: { end, smoothed, peak in
                    scores.ends.append(end)
                    for c in watch { scores.smoothed.append(smoothed[c]) }
                    scores.peaks.append(peak)
                })
            windows += scores.ends.count
            seconds += r.seconds
            if !r.events.contains(where: { $0.kind == .target }) { negative += r.seconds }
            for e in r.events where e.kind == .target {
                if let label = e.label, let w = watch.firstIndex(where: { labels[$0] == label }) { targets[w] += 1 }
            }
            for t in thresholds.indices {
                Self.replay(
                    scores, record: r, watchLabels: watch.map { labels[$0] }, threshold: thresholds[t],
                    cooldown: settings.cooldownMs * r.sampleRate / 1000,
                    tolerance: toleranceMs * r.sampleRate / 1000, windowSamples: scorer.windowSamples,
                    into: &tallies[t])
            }
            if timeline == nil, r.events.contains(where: { $0.kind == .target }) {
                var t = Tally(
                    hits: [Int](repeating: 0, count: watch.count),
                    falseAccepts: [Int](repeating: 0, count: watch.count), detections: [])
                Self.replay(
                    scores, record: r, watchLabels: watch.map { labels[$0] }, threshold: settings.threshold,
                    cooldown: settings.cooldownMs * r.sampleRate / 1000,
                    tolerance: toleranceMs * r.sampleRate / 1000, windowSamples: scorer.windowSamples, into: &t)
                let k = watch.count, rate = Double(r.sampleRate)
                timeline = StreamTimeline(
                    stream: r.id, windowEndsSeconds: scores.ends.map { Double($0) / rate },
                    maxScore: scores.ends.indices.map { i in
                        (0..<k).map { scores.smoothed[i * k + $0] }.max() ?? 0
                    },
                    detections: (t.detections ?? []).map {
                        .init(label: labels[watch[$0.label]], timeSeconds: Double($0.end) / rate, hit: $0.hit)
                    })
            }
            progress?(i + 1, records.count)
        }
        let hours = seconds / 3600
        func curve(_ pick: (Tally) -> (hits: Int, fas: Int), targets n: Int) -> DetectionCurve {
            let frr = tallies.map { n == 0 ? 0 : 1 - Double(pick($0).hits) / Double(n) }
            let fa = tallies.map { Double(pick($0).fas) / hours }
            return Self.curve(thresholds: thresholds, frr: frr, faPerHour: fa, targets: n)
        }
        var perLabel: [String: DetectionCurve] = [:]
        for (w, c) in watch.enumerated() {
            perLabel[labels[c]] = curve({ ($0.hits[w], $0.falseAccepts[w]) }, targets: targets[w])
        }
        let pooled = curve({ ($0.hits.reduce(0, +), $0.falseAccepts.reduce(0, +)) }, targets: targets.reduce(0, +))
        func hitSummary(_ threshold: Double) -> HitSummary {
            let t = thresholds.indices.min { abs(thresholds[$0] - threshold) < abs(thresholds[$1] - threshold) }!
            return Self.summary(tallies[t], threshold: thresholds[t], localises: scorer.stepCentresSeconds != nil)
        }
        return StreamMetrics(
            model: modelName, dataset: dataset.path, manifestsSHA256: try ManifestFingerprint.sha256(dataset: dataset),
            split: split, detector: settings,
            scoring: (scorer as? ExportedModel)?.manifest.streaming == nil ? .window : .streaming,
            stateResetWindows: stateResetWindows == 0 ? nil : stateResetWindows,
            toleranceMs: toleranceMs, streams: records.count, hours: hours,
            negativeHours: negative / 3600, windows: windows, thresholds: thresholds, pooled: pooled,
            perLabel: perLabel, hitsAtThreshold: hitSummary(settings.threshold),
            hitsAt1FAPerHour: pooled.thresholdAt1FAPerHour.map(hitSummary), timeline: timeline)
    }

    /// The trigger logic at one threshold over one stream's smoothed scores, matched against its events.
    static func replay(
        _ s: SmoothedScores, record r: StreamRecord, watchLabels: [String], threshold: Double, cooldown: Int,
        tolerance: Int, windowSamples: Int, into tally: inout Tally
    ) {
        let k = watchLabels.count
        var lastFire = [Int?](repeating: nil, count: k)
        var hit = [Bool](repeating: false, count: r.events.count)
        let rate = Double(r.sampleRate)
        for (i, end) in s.ends.enumerated() {
            for w in 0..<k where Double(s.smoothed[i * k + w]) >= threshold {
                if let last = lastFire[w], end - last < cooldown { continue }
                lastFire[w] = end
                let match = r.events.indices.first { j in
                    let e = r.events[j]
                    return !hit[j] && e.kind == .target && e.label == watchLabels[w]
                        && e.placement.onsetSample <= end && end <= e.placement.offsetSample + tolerance
                }
                tally.detections?.append((w, end, match != nil))
                guard let j = match else {
                    tally.falseAccepts[w] += 1
                    continue
                }
                hit[j] = true
                tally.hits[w] += 1
                let p = r.events[j].placement
                tally.latencies.append(Double(end - p.speechOffsetSample) / rate)
                if let peak = s.peaks[i] {
                    let t = peak * rate
                    let lo = Double(p.speechOnsetSample), hi = Double(p.speechOffsetSample)
                    tally.peakDistances.append(t < lo ? (lo - t) / rate : t > hi ? (t - hi) / rate : 0)
                    // A uniform peak over the window [end − w, end): the share of it the speech span covers.
                    let a = Double(end - windowSamples), b = Double(end)
                    tally.uniformShares.append(max(0, min(b, hi) - max(a, lo)) / Double(windowSamples))
                }
            }
        }
        for (j, e) in r.events.enumerated() where e.kind == .target && watchLabels.contains(e.label ?? "") {
            tally.targetsHit.append(hit[j])
        }
    }

    static func curve(thresholds: [Double], frr: [Double], faPerHour fa: [Double], targets: Int) -> DetectionCurve {
        func at(_ limit: Double) -> (Double, Double?) {
            var best: (Double, Double)?
            for t in thresholds.indices where fa[t] <= limit && frr[t] < (best?.0 ?? .infinity) {
                best = (frr[t], thresholds[t])
            }
            return best.map { ($0.0, $0.1) } ?? (1, nil)
        }
        let (f05, t05) = at(0.5), (f1, t1) = at(1)
        // The recall envelope from never firing (0 FA/hr, recall 0), integrated as a step function over [0, 2].
        let points = thresholds.indices.map { (fa: fa[$0], recall: 1 - frr[$0]) }.sorted { $0.fa < $1.fa }
        var area = 0.0, best = 0.0, x = 0.0
        for p in points where p.fa < 2 {
            area += best * (p.fa - x)
            x = p.fa
            best = max(best, p.recall)
        }
        area += best * (2 - x)
        guard targets > 0 else {
            return DetectionCurve(
                targets: 0, frr: frr, faPerHour: fa, frrAt05FAPerHour: nil, frrAt1FAPerHour: nil,
                thresholdAt05FAPerHour: nil, thresholdAt1FAPerHour: nil, aucTo2FAPerHour: nil)
        }
        return DetectionCurve(
            targets: targets, frr: frr, faPerHour: fa, frrAt05FAPerHour: f05, frrAt1FAPerHour: f1,
            thresholdAt05FAPerHour: t05, thresholdAt1FAPerHour: t1, aucTo2FAPerHour: area / 2)
    }

    static func summary(_ t: Tally, threshold: Double, localises: Bool) -> HitSummary {
        func quantile(_ xs: [Double], _ q: Double) -> Double? {
            guard !xs.isEmpty else { return nil }
            let s = xs.sorted()
            let pos = q * Double(s.count - 1), lo = Int(pos.rounded(.down)), hi = min(lo + 1, s.count - 1)
            return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
        }
        let n = t.peakDistances.count
        return HitSummary(
            threshold: threshold, hits: t.latencies.count, latencyMedianSeconds: quantile(t.latencies, 0.5),
            latencyP90Seconds: quantile(t.latencies, 0.9), latenciesSeconds: t.latencies,
            peakInSpan: localises && n > 0 ? Double(t.peakDistances.filter { $0 == 0 }.count) / Double(n) : nil,
            peakDistanceMedianSeconds: localises ? quantile(t.peakDistances, 0.5) : nil,
            uniformPeakInSpan: localises && n > 0 ? t.uniformShares.reduce(0, +) / Double(n) : nil,
            targetsHit: HexBits.encode(t.targetsHit))
    }
}
