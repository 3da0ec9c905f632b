import ArgumentParser
import DatasetFormat
import Foundation
import Synthesis
import TKDCore

/// `tkd corpus demo --out DIR [--speakers N] [--seed S]`
struct CorpusDemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Build a corpus in the official Speech Commands v2 layout with espeak-ng, flite and festival (no download "
            + "needed).",
        discussion: """
            All 35 v2 words, spoken by synthetic speakers who take turns over --engines (espeak-ng: voice, variant, \
            pitch and rate; flite and festival: voice, F0, rate and a resampling warp), each with a stable \
            8-hex-digit id chosen so that the official rule puts the speakers into training/validation/testing \
            as --held-out asks (1: 80/10/10 %, 2: 60/20/20 %). From the second utterance on, each clip varies \
            the speaker's rate (±12 %) and pitch; with --reverb, that share of the clips is spoken in a synthetic \
            room (RT60 0.2-0.6 s). Clips are 16 kHz mono PCM16, exactly one second, the trimmed word at a \
            seeded offset and level. _background_noise_/ holds six synthetic noises of just over a minute \
            each (white, pink, brown, amplitude-modulated, bursty, hum). validation_list.txt and \
            testing_list.txt follow the official rule; speakers.tsv and demo_corpus.json record how the corpus \
            was made (engine, voice and settings per speaker; the engines' versions). The same engine versions \
            and seed give the same bytes. Re-running on an unfinished corpus resumes it.

            --kind fsd50k builds an offline FSD50K stand-in instead: --clips multi-label clips of 0.5-8 s at \
            44.1 kHz mono PCM16 in the official layout (FSD50K.dev_audio/, FSD50K.eval_audio/, \
            FSD50K.ground_truth/ with vocabulary.csv, dev.csv, eval.csv), each one to three events of 12 \
            synthesised classes (tones, chirps, clicks, engine, siren, beeps, knock, hum, hiss, rumble, rain) \
            over quiet noise; 20 % of the clips are eval, the rest train/val 85/15. \
            FSD50K.ground_truth/events.json records every event's onset and offset in samples.
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case speechCommands = "speech-commands"
        case fsd50k
    }

    @Option(help: "What to build: speech-commands (the default) or fsd50k (the FSD50K stand-in).")
    var kind: Kind = .speechCommands

    @Option(help: "Clips of the FSD50K stand-in (--kind fsd50k).")
    var clips: Int = 400

    @Option(help: "Output folder (created; must be new, empty or a demo corpus with the same settings).")
    var out: String

    @Option(help: "Number of synthetic speakers (≥ 3).")
    var speakers: Int = 10

    @Option(help: "Utterances per speaker and word (rate and pitch variations).")
    var utterances: Int = 3

    @Option(help: "Seed for offsets, levels, variations and noises.")
    var seed: UInt64 = 0

    @Option(help: "Engines the speakers take turns over, comma-separated: espeak-ng, flite, festival.")
    var engines: String = "espeak-ng"

    @Option(help: "Speakers per ten held out for validation, and as many for testing (1: 80/10/10, 2: 60/20/20).")
    var heldOut: Int = 1

    @Option(help: "Share of clips (0-1) spoken in a synthetic room.")
    var reverb: Double = 0

    @Flag(help: "Replace a demo corpus built with other settings in --out.")
    var overwrite = false

    @OptionGroup var runOptions: RunOptions

    func run() throws {
        if kind == .fsd50k {
            guard clips >= 10 else { throw ValidationError("--clips must be at least 10; got \(clips).") }
            var standIn = FSD50KStandIn(output: URL(fileURLWithPath: out))
            standIn.clips = clips
            standIn.seed = seed
            standIn.jobs = runOptions.jobs
            let made = try standIn.write()
            let counts = Dictionary(grouping: made, by: \.subset).mapValues(\.count)
            say(
                "wrote \(out): FSD50K stand-in, \(StandInEvent.allCases.count) classes, \(made.count) clips (train "
                    + "\(counts[.train] ?? 0), val \(counts[.val] ?? 0), eval \(counts[.eval] ?? 0)) at 44100 Hz")
            return
        }
        var options = DemoCorpusOptions(output: URL(fileURLWithPath: out))
        options.speakers = speakers
        options.utterancesPerWord = utterances
        options.seed = seed
        options.engines = try engines.split(separator: ",").map {
            let name = $0.trimmingCharacters(in: .whitespaces)
            guard let kind = SpeechEngineKind(rawValue: name) else {
                throw ValidationError(
                    "--engines: unknown engine '\(name)'; expected espeak-ng, flite or festival (comma-separated).")
            }
            return kind
        }
        options.heldOut = heldOut
        options.reverbShare = reverb
        options.jobs = runOptions.jobs
        options.overwrite = overwrite
        options.progress = runOptions.progressMode
        let manifest = try DemoCorpusBuilder(options: options, toolVersion: TKDVersion.current).build()
        let counts = Split.allCases.map { "\($0.rawValue) \(manifest.counts[$0.rawValue] ?? 0)" }.joined(
            separator: ", ")
        say(
            "wrote \(out): \(manifest.words.count) words × \(manifest.speakers.count) speakers × "
                + "\(manifest.utterancesPerWord) utterances (\(counts)), \(manifest.noise.count) noise files; "
                + (manifest.engineVersions ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                .joined(separator: ", ")
        )
    }
}
