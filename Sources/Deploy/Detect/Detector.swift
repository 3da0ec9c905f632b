import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// What scores a batch of windows for the detector: a checkpoint run natively, or an exported model.
public protocol WindowScoring: AnyObject {
    var labels: [String] { get }
    var sampleRate: Int { get }
    var windowSamples: Int { get }
    /// Each context step's centre from the window's start, in seconds, when the model localises.
    var stepCentresSeconds: [Double]? { get }
    /// Probabilities [B, labels] and, when localising, attention [B, steps], row-major.
    func score(_ windows: [[Float]]) throws -> (probabilities: [Float], attention: [Float]?)
}

/// A checkpoint as a detector's model: tkd's own inference, its KD head (or own attention) as localisation
/// when the run trained one.
public final class CheckpointScorer: WindowScoring {
    public let checkpoint: DeployableCheckpoint
    let localisation: Bool
    let jobs: Int
    public let stepCentresSeconds: [Double]?

    public init(_ checkpoint: DeployableCheckpoint, jobs: Int = 1) {
        self.checkpoint = checkpoint
        localisation = checkpoint.localisationProblem == nil
        stepCentresSeconds = localisation ? checkpoint.stepCentresSeconds : nil
        self.jobs = jobs
    }

    public var labels: [String] { checkpoint.facts.labels }
    public var sampleRate: Int { checkpoint.facts.sampleRate }
    public var windowSamples: Int { checkpoint.facts.windowSamples }

    public func score(_ windows: [[Float]]) throws -> (probabilities: [Float], attention: [Float]?) {
        let s = try checkpoint.scores(checkpoint.features(windows), localisation: localisation, jobs: jobs)
        return (s.probabilities, s.attention)
    }
}

extension ExportedModel: WindowScoring {
    public var labels: [String] { manifest.labels }
    public var sampleRate: Int { manifest.sampleRate }
    public var windowSamples: Int { manifest.window.samples }
    public var stepCentresSeconds: [Double]? { manifest.localisation?.stepCentresSeconds }
    public func score(_ windows: [[Float]]) throws -> (probabilities: [Float], attention: [Float]?) {
        try scores(windows)
    }
}

/// One detection: `tkd detect`'s output line.
public struct Detection: Codable, Equatable, Sendable {
    public var file: String
    public var label: String
    /// The end of the window that fired, in seconds from the recording's start.
    public var timeSeconds: Double
    /// The smoothed probability that crossed the threshold.
    public var score: Double
    /// Where the model's attention peaked in that window, in seconds from the recording's start.
    public var peakSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case file, label, score
        case timeSeconds = "time_seconds", peakSeconds = "peak_seconds"
    }
}

/// Every window's scores (`tkd detect --scores`).
public struct WindowScores: Codable, Equatable, Sendable {
    public var file: String
    public var timeSeconds: Double
    public var probabilities: [Float]
    public var smoothed: [Float]

    enum CodingKeys: String, CodingKey {
        case file, probabilities, smoothed
        case timeSeconds = "time_seconds"
    }
}

/// The sliding-window keyword detector (`tkd detect`, and `Scripts/detect_onnx.py` line for line): windows
/// of the model's length end every `hop_ms`, from the first full window on; each label's probability is
/// averaged over the last `smoothing_windows` windows (fewer at the start); a label fires when that average is
/// at least `threshold` and its previous detection ended at least `cooldown_ms` earlier. A recording shorter
/// than one window is zero-padded at its end to one window (and the summary says so). Audio is read block by
/// block, so memory stays flat for any length.
public final class Detector {
    public let scorer: WindowScoring
    public let settings: DeployManifest.DetectorSettings
    /// Windows scored together.
    public let batch: Int
    /// Streaming exports only: restart the states every this many windows (two staggered copies), so every score
    /// has heard between one and 1 + N/2 windows of audio; 0 carries them over the whole recording (reset0).
    public let stateResetWindows: Int

    public init(
        scorer: WindowScoring, settings: DeployManifest.DetectorSettings, batch: Int = 16, stateResetWindows: Int = 0
    ) throws {
        if stateResetWindows != 0 {
            guard let model = scorer as? ExportedModel, let st = model.manifest.streaming,
                model.manifest.model.input == "audio"
            else {
                throw DeployError.input(
                    path: "--reset-every",
                    reason: "is \(stateResetWindows); restarting states applies to an audio-input streaming export "
                        + "(tkd export --graph streaming)")
            }
            let half = stateResetWindows * scorer.windowSamples / 2
            guard stateResetWindows >= 2, (stateResetWindows * scorer.windowSamples) % 2 == 0,
                half % st.hopSamples == 0
            else {
                throw DeployError.input(
                    path: "--reset-every",
                    reason: "is \(stateResetWindows); expected 0 (never) or a number of windows ≥ 2 whose half is "
                        + "a whole number of \(st.hopSamples)-sample hops")
            }
        }
        self.stateResetWindows = stateResetWindows
        if let st = (scorer as? ExportedModel)?.manifest.streaming,
            (settings.hopMs * scorer.sampleRate / 1000) % st.hopSamples != 0
                || (settings.hopMs * scorer.sampleRate) % 1000 != 0
        {
            throw DeployError.input(
                path: "--hop-ms",
                reason: "is \(settings.hopMs) ms; a streaming export reads its scores every whole number of its "
                    + "\(st.hopSamples)-sample calls (\(st.hopSamples * 1000 / scorer.sampleRate) ms)")
        }
        if let p = settings.problem(modelLabels: scorer.labels, sampleRate: scorer.sampleRate) {
            throw DeployError.export(field: "detector", reason: p)
        }
        self.scorer = scorer
        self.settings = settings
        self.batch = max(1, batch)
    }

    /// The settings `tkd export` records unless told otherwise: a 100-ms hop (the nearest of 100, 80, 50, 40,
    /// 20, 10 ms that is a whole number of samples), smoothing over 3 windows, a cooldown of one window (at
    /// least a second: a keyword stays in view for about a window's length), threshold 0.5, and every label
    /// that does not start with `_` (single-label models: not `_silence_`, `_unknown_`). Derived from the
    /// window, not tuned on data.
    public static func recommended(for f: DeploymentFacts) -> DeployManifest.DetectorSettings {
        let hop = [100, 80, 50, 40, 20, 10].first { ($0 * f.sampleRate) % 1000 == 0 } ?? 1000
        let windowMs = Int((f.windowSeconds * 1000).rounded())
        var labels = f.task == .multiLabel ? f.labels : f.labels.filter { !$0.hasPrefix("_") }
        if labels.isEmpty { labels = f.labels }
        return .init(hopMs: hop, smoothingWindows: 3, cooldownMs: max(1000, windowMs), threshold: 0.5, labels: labels)
    }

    public struct Summary: Sendable {
        public var file: String
        public var seconds: Double
        public var windows: Int
        public var detections: Int
        /// The recording was shorter than a window and was zero-padded.
        public var padded: Bool
        public var fileSampleRate: Int
        public var channels: Int
    }

    /// Scores one recording. `onDetection` and `onWindow` are called in time order; `progress` with the file
    /// frames read so far; `onSmoothed` with every window's end (in samples), smoothed probabilities and attention
    /// peak (the stream evaluation replays the trigger logic on them).
    /// - Throws: `AudioError` for the file, `DeployError` for the model.
    public func run(
        _ url: URL, name: String? = nil, onDetection: (Detection) throws -> Void,
        onWindow: ((WindowScores) throws -> Void)? = nil, progress: ((Int, Int) -> Void)? = nil,
        onSmoothed: ((_ endSample: Int, _ smoothed: [Float], _ peakSeconds: Double?) throws -> Void)? = nil
    ) throws -> Summary {
        let rate = scorer.sampleRate, w = scorer.windowSamples
        let hop = settings.hopMs * rate / 1000, cooldown = settings.cooldownMs * rate / 1000
        let file = name ?? url.path
        let stream = try AudioStream(url, sampleRate: rate)
        let labels = scorer.labels, k = labels.count
        let watch = settings.labels.compactMap { labels.firstIndex(of: $0) }
        var buffer: [Float] = []
        var bufferStart = 0  // stream sample index of buffer[0]
        var nextStart = 0
        var total = 0
        var windows = 0, fired = 0
        var history: [[Float]] = []
        var lastFire = [Int: Int]()
        var pending: [(start: Int, samples: [Float])] = []
        let steps = scorer.stepCentresSeconds

        /// One window's probabilities, ending at sample `end`: smoothing, the window callbacks and the triggers.
        func emit(end: Int, probs: [Float], peak: Double?) throws {
            history.append(probs)
            if history.count > settings.smoothingWindows { history.removeFirst() }
            var smoothed = [Float](repeating: 0, count: k)
            for h in history { for c in 0..<k { smoothed[c] += h[c] } }
            for c in 0..<k { smoothed[c] /= Float(history.count) }
            let endSeconds = Double(end) / Double(rate)
            try onWindow?(WindowScores(file: file, timeSeconds: endSeconds, probabilities: probs, smoothed: smoothed))
            try onSmoothed?(end, smoothed, peak)
            for c in watch where Double(smoothed[c]) >= settings.threshold {
                if let last = lastFire[c], end - last < cooldown { continue }
                lastFire[c] = end
                fired += 1
                try onDetection(
                    Detection(
                        file: file, label: labels[c], timeSeconds: endSeconds, score: Double(smoothed[c]),
                        peakSeconds: peak))
            }
            windows += 1
        }

        func flush() throws {
            guard !pending.isEmpty else { return }
            let (p, a) = try scorer.score(pending.map(\.samples))
            for (i, win) in pending.enumerated() {
                var peak: Double?
                if let a, let steps, !steps.isEmpty, a.count == pending.count * steps.count {
                    let row = a[(i * steps.count)..<((i + 1) * steps.count)]
                    let j = row.indices.max { row[$0] < row[$1] }! - i * steps.count
                    peak = Double(win.start) / Double(rate) + steps[j]
                }
                try emit(end: win.start + w, probs: Array(p[(i * k)..<((i + 1) * k)]), peak: peak)
            }
            pending.removeAll(keepingCapacity: true)
        }

        if let model = scorer as? ExportedModel, model.manifest.streaming != nil {
            // A streaming graph hears every hop once, its states carried over the whole recording (reset0); the
            // scores are read where a sliding window would end (every `hop_ms` from the first full window on).
            // With --reset-every N, two copies of the states run side by side (one batch of 2): copy 0 restarts
            // every N windows, copy 1 half a period later, and each score is read from the youngest copy that has
            // heard at least a window — exactly the window graph's score wherever that copy is a window old.
            let session = try StreamingSession(model)
            let step = session.streaming.hopSamples
            let copies = stateResetWindows == 0 ? 1 : 2
            let period = stateResetWindows * w
            session.reset(batch: copies)
            var consumed = 0
            var started = [Int](repeating: 0, count: copies)
            var latest: [Float]?
            func hear(_ samples: ArraySlice<Float>) throws {
                if copies == 2 && consumed > 0 {
                    for c in 0..<2 where (consumed - c * period / 2) % period == 0 && consumed >= c * period / 2 {
                        session.reset(row: c)
                        started[c] = consumed
                    }
                }
                let hops = [[Float]](repeating: Array(samples), count: copies)
                if let r = try session.feed(hops) { latest = r.probabilities }
                consumed += step
                if consumed >= w && (consumed - w) % hop == 0, let latest {
                    let ready = (0..<copies).filter { consumed - started[$0] >= w }
                    let c = ready.min { consumed - started[$0] < consumed - started[$1] } ?? 0
                    try emit(end: consumed, probs: Array(latest[(c * k)..<((c + 1) * k)]), peak: nil)
                }
            }
            /// Every whole hop the buffer holds (or, padding a short recording, up to its first window).
            func hearBuffer(untilFirstWindow: Bool = false) throws {
                var at = 0
                while at + step <= buffer.count && !(untilFirstWindow && windows > 0) {
                    try hear(buffer[at..<(at + step)])
                    at += step
                }
                buffer.removeFirst(at)
            }
            while true {
                let block = try stream.read()
                if block.isEmpty { break }
                buffer += block
                total += block.count
                progress?(stream.framesRead, stream.frames)
                try hearBuffer()
            }
            var padded = false
            if windows == 0 {
                guard total > 0 else { throw DeployError.input(path: url.path, reason: "no samples; expected audio") }
                padded = total < w
                buffer += [Float](repeating: 0, count: max(w - consumed - buffer.count, 0))
                try hearBuffer(untilFirstWindow: true)
            }
            return Summary(
                file: file, seconds: Double(total) / Double(rate), windows: windows, detections: fired, padded: padded,
                fileSampleRate: stream.fileSampleRate, channels: stream.channels)
        }

        while true {
            let block = try stream.read()
            if block.isEmpty { break }
            buffer += block
            total += block.count
            progress?(stream.framesRead, stream.frames)
            while nextStart + w <= bufferStart + buffer.count {
                let from = nextStart - bufferStart
                pending.append((nextStart, Array(buffer[from..<(from + w)])))
                nextStart += hop
                if pending.count == batch { try flush() }
            }
            // Keep only what later windows need.
            let drop = min(max(nextStart - bufferStart, 0), buffer.count)
            if drop > 0 {
                buffer.removeFirst(drop)
                bufferStart += drop
            }
        }
        var padded = false
        if total < w && windows == 0 && pending.isEmpty {
            guard total > 0 else { throw DeployError.input(path: url.path, reason: "no samples; expected audio") }
            padded = true
            pending.append((0, buffer + [Float](repeating: 0, count: w - buffer.count)))
        }
        try flush()
        return Summary(
            file: file, seconds: Double(total) / Double(rate), windows: windows, detections: fired, padded: padded,
            fileSampleRate: stream.fileSampleRate, channels: stream.channels)
    }
}
