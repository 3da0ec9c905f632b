import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// Options of `tkd corpus demo`.
public struct DemoCorpusOptions: Sendable {
    public var output: URL
    /// Number of synthetic speakers (at least 3, so that every split has one).
    public var speakers = 10
    /// Utterances per speaker and word (rate/pitch variations of the speaker's voice).
    public var utterancesPerWord = 3
    public var seed: UInt64 = 0
    /// The engines the speakers take turns over.
    public var engines: [SpeechEngineKind] = [.espeakNG]
    /// Speakers per block of ten held out for validation, and as many for testing (1: 80/10/10,
    /// 2: 60/20/20, …, 4: 20/40/40).
    public var heldOut = 1
    /// Share of utterances (0-1) spoken in a synthetic room (an exponentially decaying impulse response).
    public var reverbShare = 0.0
    public var jobs = 1
    public var sampleRate = 16000
    /// Replace an existing demo corpus built with other options.
    public var overwrite = false
    public var progress: ProgressMode = .auto

    public init(output: URL) { self.output = output }
}

/// What `tkd corpus demo` wrote; saved as `demo_corpus.json` in the corpus root.
public struct DemoCorpusManifest: Sendable, Codable, Equatable {
    public var tool: String
    /// espeak-ng's version when it speaks (kept for corpora made before tkd recorded `engine_versions`).
    public var espeakNGVersion: String?
    /// Version of every engine used, by engine name.
    public var engineVersions: [String: String]?
    public var heldOut: Int?
    public var reverbShare: Double?
    public var seed: UInt64
    public var sampleRate: Int
    public var utterancesPerWord: Int
    public var words: [String]
    public var speakers: [DemoSpeaker]
    public var noise: [String]
    /// Clips per split.
    public var counts: [String: Int]
    /// False while a build is under way (a rerun resumes it).
    public var complete: Bool

    enum CodingKeys: String, CodingKey {
        case tool, seed, words, speakers, noise, counts, complete
        case espeakNGVersion = "espeak_ng_version", engineVersions = "engine_versions"
        case heldOut = "held_out", reverbShare = "reverb_share"
        case sampleRate = "sample_rate"
        case utterancesPerWord = "utterances_per_word"
    }
}

/// Builds a corpus in the official Speech Commands v2 layout with Debian text-to-speech engines (espeak-ng,
/// flite, festival), so that every stage can run on a fresh machine with no download.
///
/// Each clip: the engine's speech (the speaker's voice, pitch and rate; from the second utterance on, rate
/// ±12 % and pitch ±4 espeak-ng steps or ±8 % F0) → optionally a synthetic room → resampled to 16 kHz
/// (through the speaker's warp) → trimmed of leading/trailing silence (`ActiveSpanDetector`) → peak level
/// drawn in [-9, -3] dBFS → placed at a seeded offset inside a one-second clip over a faint (-70 dBFS RMS)
/// noise floor → PCM16 WAV.
public struct DemoCorpusBuilder: Sendable {
    /// The 35 words of Speech Commands v2.
    public static let wordsV2 = SpeechCommands.wordsV2
    public static let manifestName = "demo_corpus.json"

    public let options: DemoCorpusOptions
    public let toolVersion: String

    public init(options: DemoCorpusOptions, toolVersion: String) {
        self.options = options
        self.toolVersion = toolVersion
    }

    /// One speaker's utterance `utterance` of every word (festival speaks them in one process).
    struct Job: Sendable {
        let speaker: DemoSpeaker
        let utterance: Int
        func relativePath(_ word: String) -> String { "\(word)/\(speaker.id)_nohash_\(utterance).wav" }
    }

    /// Builds (or resumes) the corpus and returns its manifest.
    /// - Throws: `SynthesisError` for bad options, a missing espeak-ng or a foreign output folder;
    ///   `AudioError`/`CoreError` for write failures.
    @discardableResult
    public func build() throws -> DemoCorpusManifest {
        let o = options
        guard (1...20).contains(o.utterancesPerWord) else {
            throw SynthesisError.invalidOption(
                name: "--utterances", value: String(o.utterancesPerWord),
                expected: "1 to 20")
        }
        guard (1...4).contains(o.heldOut) else {
            throw SynthesisError.invalidOption(
                name: "--held-out", value: String(o.heldOut), expected: "1 to 4 speakers per ten")
        }
        guard (0...1).contains(o.reverbShare) else {
            throw SynthesisError.invalidOption(
                name: "--reverb", value: String(o.reverbShare), expected: "a share between 0 and 1")
        }
        guard !o.engines.isEmpty, Set(o.engines).count == o.engines.count else {
            throw SynthesisError.invalidOption(
                name: "--engines", value: o.engines.map(\.rawValue).joined(separator: ","),
                expected: "one or more distinct engines of espeak-ng, flite, festival")
        }
        guard o.speakers >= 1 + 2 * o.heldOut else {
            throw SynthesisError.invalidOption(
                name: "--speakers", value: String(o.speakers),
                expected: "at least \(1 + 2 * o.heldOut) (every split needs a speaker)")
        }
        let engines = try SpeechEngines.locate(o.engines)
        let versions = try engines.versions()
        let speakers = DemoSpeaker.table(count: o.speakers, engines: o.engines, heldOut: o.heldOut)
        var manifest = DemoCorpusManifest(
            tool: toolVersion, espeakNGVersion: versions[SpeechEngineKind.espeakNG.rawValue],
            engineVersions: versions, heldOut: o.heldOut, reverbShare: o.reverbShare, seed: o.seed,
            sampleRate: o.sampleRate,
            utterancesPerWord: o.utterancesPerWord, words: Self.wordsV2, speakers: speakers,
            noise: NoiseKind.allCases.map { "\(CorpusScanner.noiseFolder)/\($0.fileName)" },
            counts: [:], complete: false)
        try prepareOutput(for: manifest)
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(manifest),
            to: o.output.appendingPathComponent(Self.manifestName))

        var jobs: [Job] = []
        for speaker in speakers {
            for n in 0..<o.utterancesPerWord { jobs.append(Job(speaker: speaker, utterance: n)) }
        }
        let noiseKinds = NoiseKind.allCases
        let total = jobs.count + noiseKinds.count
        // Progress counts clips (and noise files), whatever the unit of work.
        let reporter = ProgressReporter(
            label: "demo corpus", total: jobs.count * Self.wordsV2.count + noiseKinds.count, mode: o.progress)
        let scratch = o.output
        let builder = self
        let jobList = jobs
        try WorkPool(jobs: o.jobs).forEach(total) { i in
            defer { reporter.advance(by: i < noiseKinds.count ? 1 : Self.wordsV2.count) }
            if i < noiseKinds.count {
                try builder.writeNoise(noiseKinds[i])
            } else {
                try builder.writeClips(jobList[i - noiseKinds.count], engines: engines, scratch: scratch)
            }
        }
        reporter.finish()

        // List files by the official rule, sorted.
        var lists: [Split: [String]] = [:]
        for job in jobs {
            for word in Self.wordsV2 {
                let path = job.relativePath(word)
                lists[SplitRule.official.split(of: path), default: []].append(path)
            }
        }
        for (split, name) in [(Split.validation, CorpusScanner.validationList), (.testing, CorpusScanner.testingList)] {
            let text = (lists[split] ?? []).sorted().map { $0 + "\n" }.joined()
            try AtomicFile.write(Data(text.utf8), to: o.output.appendingPathComponent(name))
        }
        try AtomicFile.write(Data(speakerTable(speakers).utf8), to: o.output.appendingPathComponent("speakers.tsv"))
        manifest.counts = Dictionary(uniqueKeysWithValues: Split.allCases.map { ($0.rawValue, lists[$0]?.count ?? 0) })
        manifest.complete = true
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(manifest),
            to: o.output.appendingPathComponent(Self.manifestName))
        return manifest
    }

    /// Checks the output folder: new, empty, or a demo corpus with the same settings (then finished
    /// clips are kept — a rerun resumes). With `overwrite`, a demo corpus with other settings is
    /// removed first; a folder that is not a demo corpus is never touched.
    func prepareOutput(for manifest: DemoCorpusManifest) throws {
        let fm = FileManager.default
        let out = options.output
        let entries = (try? fm.contentsOfDirectory(atPath: out.path)) ?? []
        guard !entries.isEmpty else { return }
        let previousURL = out.appendingPathComponent(Self.manifestName)
        guard let data = try? Data(contentsOf: previousURL),
            let previous = try? JSONDecoder().decode(DemoCorpusManifest.self, from: data)
        else {
            throw SynthesisError.outputNotEmpty(path: out.path)
        }
        let mismatch: (String, String, String)?
        if previous.engineVersions.map({ Set($0.keys) }) != manifest.engineVersions.map({ Set($0.keys) }) {
            let names = { (m: DemoCorpusManifest) in
                (m.engineVersions?.keys.sorted() ?? ["espeak-ng"]).joined(separator: ",")
            }
            mismatch = ("engines", names(previous), names(manifest))
        } else if previous.heldOut != manifest.heldOut || previous.reverbShare != manifest.reverbShare {
            mismatch = (
                "held-out/reverb", "\(previous.heldOut ?? 1)/\(previous.reverbShare ?? 0)",
                "\(manifest.heldOut ?? 1)/\(manifest.reverbShare ?? 0)"
            )
        } else if previous.seed != manifest.seed {
            mismatch = ("seed", String(previous.seed), String(manifest.seed))
        } else if previous.speakers != manifest.speakers {
            mismatch = ("speakers", String(previous.speakers.count), String(manifest.speakers.count))
        } else if previous.utterancesPerWord != manifest.utterancesPerWord {
            mismatch = ("utterances", String(previous.utterancesPerWord), String(manifest.utterancesPerWord))
        } else if previous.engineVersions != manifest.engineVersions || previous.tool != manifest.tool
            || previous.sampleRate != manifest.sampleRate
        {
            let versions = { (m: DemoCorpusManifest) in
                (m.engineVersions ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    .joined(separator: ", ") + "; \(m.tool)"
            }
            mismatch = ("engine/tool versions", versions(previous), versions(manifest))
        } else {
            mismatch = nil
        }
        guard let (field, found, requested) = mismatch else { return }
        guard options.overwrite else {
            throw SynthesisError.outputMismatch(path: out.path, field: field, found: found, requested: requested)
        }
        // Remove only what a demo corpus consists of.
        for name in entries
        where Self.wordsV2.contains(name) || name == CorpusScanner.noiseFolder
            || [CorpusScanner.validationList, CorpusScanner.testingList, "speakers.tsv", Self.manifestName].contains(
                name)
        {
            try? fm.removeItem(at: out.appendingPathComponent(name))
        }
    }

    func writeNoise(_ kind: NoiseKind) throws {
        let url = options.output.appendingPathComponent(CorpusScanner.noiseFolder).appendingPathComponent(kind.fileName)
        if FileManager.default.fileExists(atPath: url.path) { return }  // resumed: written atomically before
        let x = NoiseSynthesizer.make(kind, sampleRate: options.sampleRate, seed: options.seed)
        try AudioWriter.write(x, sampleRate: options.sampleRate, to: url)
    }

    /// Writes the job's clips that are not on disk yet (each atomically; a rerun resumes).
    func writeClips(_ job: Job, engines: SpeechEngines, scratch: URL) throws {
        let words = Self.wordsV2.filter {
            !FileManager.default.fileExists(atPath: options.output.appendingPathComponent(job.relativePath($0)).path)
        }
        guard !words.isEmpty else { return }
        let clips = try renderClips(job, words: words, engines: engines, scratch: scratch)
        for (word, clip) in zip(words, clips) {
            try AudioWriter.write(
                clip, sampleRate: options.sampleRate, to: options.output.appendingPathComponent(job.relativePath(word)))
        }
    }

    /// How one clip is spoken: the speaker's settings with the utterance's variation (none for utterance 0).
    struct Variation {
        var pitch: Int
        var rate: Int
        var warp: Double
        /// RT60 in seconds of the synthetic room, or nil for a dry clip.
        var rt60: Double?
    }

    func variation(_ job: Job, word: String, rng: inout CounterRNG) -> Variation {
        let s = job.speaker
        // Utterance n varies the speaker's rate by up to ±12 % and pitch by up to ±4 (espeak-ng) or ±8 % (F0).
        let rateFactor = job.utterance == 0 ? 1.0 : rng.uniform(0.88, 1.12)
        var v = Variation(pitch: s.pitch, rate: s.rate, warp: s.warp, rt60: nil)
        switch s.engine {
        case .espeakNG:
            if job.utterance > 0 { v.pitch = min(99, max(0, s.pitch + rng.uniformInt(-4...4))) }
        case .flite, .festival:
            if job.utterance > 0, s.pitch > 0 { v.pitch = Int((Double(s.pitch) * rng.uniform(0.92, 1.08)).rounded()) }
        }
        if SpeechEngineKind.setsRate(voice: s.voice) {
            v.rate = Int((Double(s.rate) * rateFactor).rounded())
        } else {
            v.warp *= rateFactor
        }
        if options.reverbShare > 0 {
            var room = CounterRNG(
                seed: options.seed, key: ["demo-corpus", "room", word, s.id, String(job.utterance)])
            if room.uniform() < options.reverbShare { v.rt60 = room.uniform(0.2, 0.6) }
        }
        return v
    }

    /// The one-second clips of `words` for a job.
    func renderClips(_ job: Job, words: [String], engines: SpeechEngines, scratch: URL) throws -> [[Float]] {
        let sr = options.sampleRate
        var rngs = words.map {
            CounterRNG(seed: options.seed, key: ["demo-corpus", "clip", $0, job.speaker.id, String(job.utterance)])
        }
        var variations = words.indices.map { variation(job, word: words[$0], rng: &rngs[$0]) }
        let detector = ActiveSpanDetector(
            frameLength: sr / 100, thresholdDB: 40, floorRMS: 1e-4,
            marginSamples: sr / 200)
        func request(_ i: Int) -> SpeechRequest {
            SpeechRequest(
                text: words[i], pitch: variations[i].pitch, rate: variations[i].rate,
                wav: AtomicFile.temporaryURL(for: scratch.appendingPathComponent("speech-\(i).wav")))
        }
        /// The engine's audio → room → 16 kHz through the warp → trimmed.
        func trimmed(_ i: Int, _ raw: (samples: [Float], rate: Int)) throws -> [Float] {
            var x = raw.samples
            if let rt60 = variations[i].rt60 {
                var room = CounterRNG(
                    seed: options.seed,
                    key: ["demo-corpus", "impulse", words[i], job.speaker.id, String(job.utterance)])
                x = Room.reverberate(x, sampleRate: raw.rate, rt60: rt60, rng: &room)
            }
            let from = Int((Double(raw.rate) * variations[i].warp).rounded())
            x = try Resampler.resample(x, from: from, to: sr)
            guard let span = detector.span(x) else {
                throw SynthesisError.toolFailed(
                    tool: job.speaker.engine.rawValue, arguments: "\(job.speaker.voice) '\(words[i])'",
                    status: 0, stderr: "produced silence")
            }
            return Array(x[span])
        }
        let spoken = try engines.speak(words.indices.map(request), speaker: job.speaker)
        var speech = try words.indices.map { try trimmed($0, spoken[$0]) }
        // Speak faster until the trimmed word fits in 95 % of the second.
        for i in words.indices {
            for _ in 0..<5 where speech[i].count > sr * 95 / 100 {
                if SpeechEngineKind.setsRate(voice: job.speaker.voice) {
                    variations[i].rate = variations[i].rate * 115 / 100
                } else {
                    variations[i].warp *= 1.15
                }
                speech[i] = try trimmed(i, try engines.speak([request(i)], speaker: job.speaker)[0])
            }
        }
        return words.indices.map { i in
            var s = speech[i]
            if s.count > sr * 95 / 100 { s = Array(s.prefix(sr * 95 / 100)) }
            // 5 ms fades so the cut edges do not click.
            let fade = min(sr / 200, s.count / 2)
            for j in 0..<fade {
                let g = Float(j) / Float(fade)
                s[j] *= g
                s[s.count - 1 - j] *= g
            }
            let peak = Double(Levels.peak(s))
            let gain = peak > 0 ? Levels.amplitude(dB: rngs[i].uniform(-9, -3)) / peak : 0
            let offset = rngs[i].uniformInt(0...(sr - s.count))
            let floorStd = Levels.amplitude(dB: -70)
            var clip = (0..<sr).map { _ in Float(floorStd * rngs[i].normal()) }
            for (j, v) in s.enumerated() { clip[offset + j] += Float(Double(v) * gain) }
            return clip
        }
    }

    func speakerTable(_ speakers: [DemoSpeaker]) -> String {
        var s = "id\tindex\tsplit\tengine\tvoice\tvariant\tpitch\trate\twarp\n"
        for sp in speakers {
            s +=
                "\(sp.id)\t\(sp.index)\t\(sp.split.rawValue)\t\(sp.engine.rawValue)\t\(sp.voice)\t\(sp.variant)\t"
                + "\(sp.pitch)\t\(sp.rate)\t\(sp.warp)\n"
        }
        return s
    }
}
