import AudioIO
import Foundation
import TKDCore

/// The event classes of the offline FSD50K stand-in: twelve synthesised from formulas and `Speech`, words spoken by
/// espeak-ng (no recordings).
public enum StandInEvent: String, Sendable, CaseIterable, Codable {
    case sineTone = "Sine_tone"
    case chirpUp = "Rising_chirp"
    case chirpDown = "Falling_chirp"
    case clicks = "Clicks"
    case engine = "Engine"
    case siren = "Siren"
    case beeps = "Beeps"
    case knock = "Knock"
    case hum = "Mains_hum"
    case hiss = "Hiss"
    case rumble = "Rumble"
    case rain = "Rain"
    case speech = "Speech"

    /// A well-formed ontology id of the stand-in's own (`/tkd/<index>`): the real corpus uses AudioSet's.
    public var mid: String { "/tkd/\(String(format: "%02d", Self.allCases.firstIndex(of: self)!))" }

    /// `n` samples of the event at `rate`, peak about 1, with its own random parameters; `Speech` strings words
    /// of `speech` together with pauses of 50-300 ms.
    func render(_ n: Int, rate: Int, rng: inout CounterRNG, speech: StandInSpeech) -> [Float] {
        let r = Double(rate)
        var x = [Double](repeating: 0, count: n)
        switch self {
        case .sineTone:
            let f = rng.uniform(300, 2000)
            for i in 0..<n { x[i] = sin(2 * .pi * f * Double(i) / r) }
        case .chirpUp, .chirpDown:
            let (f0, f1) =
                self == .chirpUp
                ? (rng.uniform(200, 800), rng.uniform(2000, 6000))
                : (
                    rng.uniform(2000, 6000), rng.uniform(200, 800)
                )
            var phase = 0.0
            for i in 0..<n {
                phase += 2 * .pi * (f0 + (f1 - f0) * Double(i) / Double(max(n - 1, 1))) / r
                x[i] = sin(phase)
            }
        case .clicks:
            let period = Int(r / rng.uniform(4, 20))
            for i in stride(from: 0, to: n, by: max(period, 1)) {
                for j in 0..<min(40, n - i) { x[i + j] = exp(-Double(j) / 6) * (j % 2 == 0 ? 1 : -1) }
            }
        case .engine:
            let f = rng.uniform(30, 90), am = rng.uniform(2, 8)
            for i in 0..<n {
                let t = Double(i) / r
                var s = 0.0
                for h in 1...8 { s += sin(2 * .pi * f * Double(h) * t) / Double(h) }
                x[i] = s * (0.7 + 0.3 * sin(2 * .pi * am * t)) + 0.1 * rng.normal()
            }
        case .siren:
            let fc = rng.uniform(700, 1200), dev = rng.uniform(200, 500), rateHz = rng.uniform(0.5, 3)
            var phase = 0.0
            for i in 0..<n {
                phase += 2 * .pi * (fc + dev * sin(2 * .pi * rateHz * Double(i) / r)) / r
                x[i] = sin(phase)
            }
        case .beeps:
            let f = rng.uniform(800, 3000), on = Int(r * rng.uniform(0.05, 0.15))
            for i in 0..<n where (i / max(on, 1)) % 2 == 0 { x[i] = sin(2 * .pi * f * Double(i) / r) }
        case .knock:
            let period = Int(r * rng.uniform(0.15, 0.4)), f = rng.uniform(80, 200)
            for i in 0..<n {
                let k = i % max(period, 1)
                x[i] = exp(-Double(k) / (0.02 * r)) * sin(2 * .pi * f * Double(k) / r)
            }
        case .hum:
            let f = rng.uniform(0, 1) < 0.5 ? 50.0 : 60.0
            for i in 0..<n {
                let t = Double(i) / r
                x[i] = sin(2 * .pi * f * t) + 0.5 * sin(4 * .pi * f * t) + 0.25 * sin(6 * .pi * f * t)
            }
        case .hiss:
            for i in 0..<n { x[i] = rng.normal() }
            for i in stride(from: n - 1, to: 0, by: -1) { x[i] -= 0.95 * x[i - 1] }  // tilted up
        case .rumble:
            var y = 0.0
            for i in 0..<n {
                y = 0.995 * y + rng.normal()
                x[i] = y
            }
        case .speech:
            var i = Int(rng.uniform(0, 0.1) * r)
            while i < n, !speech.words.isEmpty {
                let word = speech.words[rng.uniformInt(0..<speech.words.count)]
                for (j, v) in word.enumerated() where i + j < n { x[i + j] = Double(v) }
                i += word.count + Int(rng.uniform(0.05, 0.3) * r)
            }
        case .rain:
            for i in 0..<n where rng.uniform() < 0.002 {
                let amp = rng.uniform(0.3, 1)
                for j in 0..<min(200, n - i) { x[i + j] += amp * exp(-Double(j) / 30) * rng.normal() }
            }
        }
        let peak = x.reduce(0) { max($0, abs($1)) }
        // A short fade in and out, so an event has no click at its edges (Clicks and Knock have their own).
        let fade = min(n / 2, Int(0.01 * r))
        for i in 0..<fade {
            let g = Double(i) / Double(max(fade, 1))
            x[i] *= g
            x[n - 1 - i] *= g
        }
        return x.map { Float(peak > 0 ? $0 / peak : 0) }
    }
}

/// One event of a stand-in clip: its class and where it lies, in samples of the clip.
public struct StandInEventSpan: Sendable, Codable, Equatable {
    public let label: String
    public let onsetSample: Int
    public let offsetSample: Int

    enum CodingKeys: String, CodingKey {
        case label
        case onsetSample = "onset_sample"
        case offsetSample = "offset_sample"
    }
}

/// The offline FSD50K stand-in (`tkd corpus demo --kind fsd50k`): multi-label clips of 0.5-8 s at 44.1 kHz,
/// each 1-3 events of distinct classes over quiet noise, in the official layout and CSV format, plus
/// `FSD50K.ground_truth/events.json` (our addition: every event's onset and offset in samples).
/// Deterministic: every clip is drawn from its own counter-based stream of (seed, clip index).
public struct FSD50KStandIn: Sendable {
    public var output: URL
    public var clips = 400
    /// Share of clips in the evaluation set; the development clips are split 85/15 into train and val.
    public var evalShare = 0.2
    public var seed: UInt64 = 0
    public var sampleRate = 44100
    public var jobs = 1

    public init(output: URL) { self.output = output }

    public struct Clip: Sendable, Codable, Equatable {
        public let fname: String
        public let subset: FSD50KGroundTruth.Subset
        public let frames: Int
        public let events: [StandInEventSpan]
    }

    /// The clip's plan (subset, length, events) and its samples.
    func make(_ index: Int, speech: StandInSpeech) -> (Clip, [Float]) {
        var rng = CounterRNG(seed: seed, key: ["fsd50k-demo", String(index)])
        let evalCount = Int((Double(clips) * evalShare).rounded())
        let subset: FSD50KGroundTruth.Subset =
            index >= clips - evalCount ? .eval : (rng.uniform() < 0.15 ? .val : .train)
        let frames = Int(rng.uniform(0.5, 8) * Double(sampleRate))
        let count = rng.uniformInt(1...3)
        var classes = StandInEvent.allCases
        var samples = (0..<frames).map { _ in Float(0.003 * rng.normal()) }
        var events: [StandInEventSpan] = []
        for _ in 0..<count {
            let event = classes.remove(at: rng.uniformInt(0..<classes.count))
            let length = min(frames, Int(rng.uniform(0.3, 3) * Double(sampleRate)))
            let onset = rng.uniformInt(0...(frames - length))
            let gain = Float(rng.uniform(0.15, 0.45))
            let x = event.render(length, rate: sampleRate, rng: &rng, speech: speech)
            for i in 0..<length { samples[onset + i] += gain * x[i] }
            events.append(StandInEventSpan(label: event.rawValue, onsetSample: onset, offsetSample: onset + length))
        }
        events.sort { ($0.onsetSample, $0.label) < ($1.onsetSample, $1.label) }
        let peak = samples.reduce(0) { max($0, abs($1)) }
        if peak > 0.95 { samples = samples.map { $0 * 0.95 / peak } }
        return (Clip(fname: String(100_000 + index), subset: subset, frames: frames, events: events), samples)
    }

    /// Writes the corpus (audio atomically, clip by clip; the CSVs and events.json last). A rerun rewrites
    /// only clips whose file is missing; a stand-in made with another seed, clip count or rate is refused.
    @discardableResult
    public func write() throws -> [Clip] {
        let fm = FileManager.default
        let gt = output.appendingPathComponent(FSD50KGroundTruth.folder)
        let eventsFile = gt.appendingPathComponent("events.json")
        if let data = fm.contents(atPath: eventsFile.path) {
            let old = try? JSONDecoder().decode(StandInEvents.self, from: data)
            guard let old, old.seed == seed, old.clips == clips, old.sampleRate == sampleRate else {
                throw SynthesisError.invalidOption(
                    name: "--out", value: output.path,
                    expected: "a new folder, or a stand-in made with the same settings (\(eventsFile.path) has "
                        + (old.map { "seed \($0.seed), \($0.clips) clips at \($0.sampleRate) Hz" } ?? "no settings")
                        + "; now seed \(seed), \(clips) clips at \(sampleRate) Hz)")
            }
        }
        for folder in [gt.path]
            + FSD50KGroundTruth.Subset.allCases.map({
                output.appendingPathComponent(FSD50KGroundTruth.audioFolder($0)).path
            })
        {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let root = output, rate = sampleRate
        let speech = try StandInSpeech.make(rate: rate, scratch: gt)
        let made: [Clip] = try WorkPool(jobs: jobs).map(clips) { i in
            let (clip, samples) = make(i, speech: speech)
            let url = root.appendingPathComponent(
                "\(FSD50KGroundTruth.audioFolder(clip.subset))/\(clip.fname).wav")
            if !FileManager.default.fileExists(atPath: url.path) {
                try AudioWriter.write(samples, sampleRate: rate, to: url)
            }
            return clip
        }
        let classes = StandInEvent.allCases
        var vocabulary = ""
        for (i, c) in classes.enumerated() { vocabulary += "\(i),\(c.rawValue),\(c.mid)\n" }
        var dev = "fname,labels,mids,split\n", eval = "fname,labels,mids\n"
        for clip in made {
            let present = classes.filter { c in clip.events.contains { $0.label == c.rawValue } }
            let labels = present.map(\.rawValue).joined(separator: ","),
                mids = present.map(\.mid).joined(separator: ",")
            let row = "\(clip.fname),\"\(labels)\",\"\(mids)\""
            if clip.subset == .eval { eval += row + "\n" } else { dev += row + ",\(clip.subset.rawValue)\n" }
        }
        try AtomicFile.write(Data(vocabulary.utf8), to: gt.appendingPathComponent("vocabulary.csv"))
        try AtomicFile.write(Data(dev.utf8), to: gt.appendingPathComponent("dev.csv"))
        try AtomicFile.write(Data(eval.utf8), to: gt.appendingPathComponent("eval.csv"))
        let events = Dictionary(uniqueKeysWithValues: made.map { ($0.fname, $0.events) })
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(
                StandInEvents(sampleRate: rate, seed: seed, clips: clips, events: events)),
            to: eventsFile)
        return made
    }
}

/// `FSD50K.ground_truth/events.json` of the stand-in.
public struct StandInEvents: Sendable, Codable, Equatable {
    public let sampleRate: Int
    public let seed: UInt64
    public let clips: Int
    /// fname → its events, in onset order.
    public let events: [String: [StandInEventSpan]]

    enum CodingKeys: String, CodingKey {
        case seed, clips, events
        case sampleRate = "sample_rate"
    }
}

/// The words of the stand-in's `Speech` class: ten Speech Commands words, each spoken by espeak-ng in three voices
/// (`en-us+m3`, `en-us+f2`, `en-gb+m1`; pitch 50, 160 words a minute), resampled to the corpus rate with
/// libsamplerate and peak-normalised. espeak-ng gives the same samples for the same text and voice, so the
/// stand-in stays deterministic.
public struct StandInSpeech: Sendable {
    public let words: [[Float]]

    public init(words: [[Float]]) { self.words = words }

    static let text = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
    static let voices = ["en-us+m3", "en-us+f2", "en-gb+m1"]

    /// Speaks every word in every voice (WAVs under `scratch`, removed afterwards).
    /// - Throws: `SynthesisError.toolMissing` without espeak-ng, `.toolFailed` when it fails.
    static func make(rate: Int, scratch: URL) throws -> StandInSpeech {
        let engines = try SpeechEngines.locate([.espeakNG])
        var words: [[Float]] = []
        for voice in voices {
            for (k, word) in text.enumerated() {
                let wav = AtomicFile.temporaryURL(for: scratch.appendingPathComponent("speech-\(k).wav"))
                defer { try? FileManager.default.removeItem(at: wav) }
                _ = try engines.run(.espeakNG, ["-v", voice, "-p", "50", "-s", "160", "-w", wav.path, "--", word])
                let audio = try AudioReader.read(wav)
                let x = try Resampler.resample(audio.samples, from: audio.sampleRate, to: rate, quality: .sincBest)
                let peak = x.reduce(0) { max($0, abs($1)) }
                words.append(x.map { peak > 0 ? $0 / peak : 0 })
            }
        }
        return StandInSpeech(words: words)
    }
}
