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
    public var espeakNGVersion: String
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
        case espeakNGVersion = "espeak_ng_version"
        case sampleRate = "sample_rate"
        case utterancesPerWord = "utterances_per_word"
    }
}

/// Builds a small corpus in the official Speech Commands v2 layout with espeak-ng, so that every
/// stage can run on a fresh machine with no download.
///
/// Each clip: espeak-ng speech → resampled to 16 kHz → trimmed of leading/trailing silence
/// (`ActiveSpanDetector`) → peak level drawn in [-9, -3] dBFS → placed at a seeded offset inside a
/// one-second clip over a faint (-70 dBFS RMS) noise floor → PCM16 WAV.
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

    /// One clip to synthesise.
    struct Job: Sendable {
        let word: String
        let speaker: DemoSpeaker
        let utterance: Int
        var relativePath: String { "\(word)/\(speaker.id)_nohash_\(utterance).wav" }
    }

    /// Builds (or resumes) the corpus and returns its manifest.
    /// - Throws: `SynthesisError` for bad options, a missing espeak-ng or a foreign output folder;
    ///   `AudioError`/`CoreError` for write failures.
    @discardableResult
    public func build() throws -> DemoCorpusManifest {
        let o = options
        guard o.speakers >= 3 else {
            throw SynthesisError.invalidOption(
                name: "--speakers", value: String(o.speakers),
                expected: "at least 3 (one speaker per split)")
        }
        guard (1...20).contains(o.utterancesPerWord) else {
            throw SynthesisError.invalidOption(
                name: "--utterances", value: String(o.utterancesPerWord),
                expected: "1 to 20")
        }
        let espeak = try Espeak.locate()
        let speakers = DemoSpeaker.table(count: o.speakers)
        var manifest = DemoCorpusManifest(
            tool: toolVersion, espeakNGVersion: try espeak.version(), seed: o.seed, sampleRate: o.sampleRate,
            utterancesPerWord: o.utterancesPerWord, words: Self.wordsV2, speakers: speakers,
            noise: NoiseKind.allCases.map { "\(CorpusScanner.noiseFolder)/\($0.fileName)" },
            counts: [:], complete: false)
        try prepareOutput(for: manifest)
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(manifest),
            to: o.output.appendingPathComponent(Self.manifestName))

        var jobs: [Job] = []
        for word in Self.wordsV2 {
            for speaker in speakers {
                for n in 0..<o.utterancesPerWord { jobs.append(Job(word: word, speaker: speaker, utterance: n)) }
            }
        }
        let noiseKinds = NoiseKind.allCases
        let total = jobs.count + noiseKinds.count
        let reporter = ProgressReporter(label: "demo corpus", total: total, mode: o.progress)
        let scratch = o.output
        let builder = self
        let jobList = jobs
        try WorkPool(jobs: o.jobs).forEach(total) { i in
            defer { reporter.advance() }
            if i < noiseKinds.count {
                try builder.writeNoise(noiseKinds[i])
            } else {
                try builder.writeClip(jobList[i - noiseKinds.count], espeak: espeak, scratch: scratch)
            }
        }
        reporter.finish()

        // List files by the official rule, sorted.
        var lists: [Split: [String]] = [:]
        for job in jobs { lists[SplitRule.official.split(of: job.relativePath), default: []].append(job.relativePath) }
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
        if previous.seed != manifest.seed {
            mismatch = ("seed", String(previous.seed), String(manifest.seed))
        } else if previous.speakers != manifest.speakers {
            mismatch = ("speakers", String(previous.speakers.count), String(manifest.speakers.count))
        } else if previous.utterancesPerWord != manifest.utterancesPerWord {
            mismatch = ("utterances", String(previous.utterancesPerWord), String(manifest.utterancesPerWord))
        } else if previous.espeakNGVersion != manifest.espeakNGVersion || previous.tool != manifest.tool
            || previous.sampleRate != manifest.sampleRate
        {
            mismatch = (
                "espeak-ng/tool version", "\(previous.espeakNGVersion)/\(previous.tool)",
                "\(manifest.espeakNGVersion)/\(manifest.tool)"
            )
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

    func writeClip(_ job: Job, espeak: Espeak, scratch: URL) throws {
        let url = options.output.appendingPathComponent(job.relativePath)
        if FileManager.default.fileExists(atPath: url.path) { return }  // resumed: written atomically before
        let clip = try renderClip(job, espeak: espeak, scratch: scratch)
        try AudioWriter.write(clip, sampleRate: options.sampleRate, to: url)
    }

    /// The one-second clip of a job.
    func renderClip(_ job: Job, espeak: Espeak, scratch: URL) throws -> [Float] {
        let sr = options.sampleRate
        var rng = CounterRNG(
            seed: options.seed, key: ["demo-corpus", "clip", job.word, job.speaker.id, String(job.utterance)])
        // Utterance n varies the speaker's rate by up to ±12 % and pitch by up to ±4.
        let rateFactor = job.utterance == 0 ? 1.0 : rng.uniform(0.88, 1.12)
        let pitch = job.utterance == 0 ? job.speaker.pitch : min(99, max(0, job.speaker.pitch + rng.uniformInt(-4...4)))
        var rate = Int((Double(job.speaker.rate) * rateFactor).rounded())
        let detector = ActiveSpanDetector(
            frameLength: sr / 100, thresholdDB: 40, floorRMS: 1e-4,
            marginSamples: sr / 200)
        var speech: [Float] = []
        // Speak faster until the trimmed word fits in 95 % of the second.
        for _ in 0..<6 {
            let raw = try espeak.speak(
                job.word, voice: job.speaker.voice, variant: job.speaker.variant,
                pitch: pitch, rate: rate, sampleRate: sr, scratch: scratch)
            guard let span = detector.span(raw) else {
                throw SynthesisError.toolFailed(
                    tool: "espeak-ng", arguments: "\(job.speaker.voice)+\(job.speaker.variant) '\(job.word)'",
                    status: 0, stderr: "produced silence")
            }
            speech = Array(raw[span])
            if speech.count <= sr * 95 / 100 { break }
            rate = rate * 115 / 100
        }
        if speech.count > sr * 95 / 100 { speech = Array(speech.prefix(sr * 95 / 100)) }
        // 5 ms fades so the cut edges do not click.
        let fade = min(sr / 200, speech.count / 2)
        for i in 0..<fade {
            let g = Float(i) / Float(fade)
            speech[i] *= g
            speech[speech.count - 1 - i] *= g
        }
        let peak = Double(Levels.peak(speech))
        let gain = peak > 0 ? Levels.amplitude(dB: rng.uniform(-9, -3)) / peak : 0
        let offset = rng.uniformInt(0...(sr - speech.count))
        let floorStd = Levels.amplitude(dB: -70)
        var clip = (0..<sr).map { _ in Float(floorStd * rng.normal()) }
        for (i, s) in speech.enumerated() { clip[offset + i] += Float(Double(s) * gain) }
        return clip
    }

    func speakerTable(_ speakers: [DemoSpeaker]) -> String {
        var s = "id\tindex\tsplit\tvoice\tvariant\tpitch\trate\n"
        for sp in speakers {
            s += "\(sp.id)\t\(sp.index)\t\(sp.split.rawValue)\t\(sp.voice)\t\(sp.variant)\t\(sp.pitch)\t\(sp.rate)\n"
        }
        return s
    }
}
