import ArgumentParser
import AudioIO
import DatasetFormat
import Deploy
import Foundation
import TKDCore

/// `tkd detect (--checkpoint CK | --model DIR) AUDIO... [--hop-ms H] [--threshold T] [--smoothing N]
/// [--cooldown-ms C] [--labels a,b] [--json] [--scores F]`
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find keywords in recordings of any length with a sliding window.",
        discussion: """
            Windows of the model's length end every --hop-ms; each label's probability is averaged over the last \
            --smoothing windows; a label fires when that average reaches --threshold and its last detection is at \
            least --cooldown-ms earlier. Defaults come from deploy.json (--model) or are the recommended ones \
            (--checkpoint). Audio is read block by block (memory stays flat), mixed down to mono (the mean of the \
            channels) and resampled with libsamplerate (sinc-best) when its rate is not the model's; a recording \
            shorter than one window is zero-padded to one (and a note says so). One line per detection on \
            standard output: file, label, time of the window's end in seconds, score and — for a model that \
            localises — the attention's peak in seconds; JSON lines with --json. Scorers: --checkpoint runs tkd's \
            own inference; --model runs the exported graph (tkd's runner; Scripts/detect_onnx.py does the same \
            with ONNX Runtime).
            """)

    @Option(help: "A student checkpoint (tkd's own inference).")
    var checkpoint: String?

    @Option(help: "An export folder (tkd export): deploy.json and model.onnx.")
    var model: String?

    @Argument(help: "Recordings (anything libsndfile reads).")
    var audio: [String]

    @OptionGroup(title: "Detector settings") var detector: DetectorOptions

    @Flag(help: "Write detections as JSON lines.")
    var json = false

    @Option(help: "Also write every window's probabilities and smoothed scores to this file (JSON lines).")
    var scores: String?

    @Option(help: "Windows scored together.")
    var batch: Int = 16

    @Option(
        help: "The dataset the checkpoint was trained on (only for checkpoints that predate their deployment keys).")
    var dataset: String?

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard (checkpoint == nil) != (model == nil) else {
            throw ValidationError("give exactly one of --checkpoint CK and --model DIR.")
        }
        guard !audio.isEmpty else { throw ValidationError("name at least one recording.") }
        guard batch >= 1 else { throw ValidationError("--batch must be positive; got \(batch).") }
    }

    func run() throws {
        let scorer: WindowScoring
        let base: DeployManifest.DetectorSettings
        if let model {
            let exported = try ExportedModel(URL(fileURLWithPath: model))
            scorer = exported
            base = exported.manifest.detector
        } else {
            let ck = try DeployableCheckpoint(
                URL(fileURLWithPath: checkpoint!), dataset: dataset.map { URL(fileURLWithPath: $0) })
            scorer = CheckpointScorer(ck, jobs: options.jobs)
            base = Detector.recommended(for: ck.facts)
        }
        let detector = try Detector(
            scorer: scorer, settings: self.detector.applied(to: base), batch: batch,
            stateResetWindows: self.detector.resetEvery)
        var scoresHandle: FileHandle?
        var scoresTemporary: URL?
        if let scores {
            let url = URL(fileURLWithPath: scores)
            let tmp = AtomicFile.temporaryURL(for: url)
            try AtomicFile.createParent(of: url)
            guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
                throw CoreError.io(path: tmp.path, reason: "cannot create the scores file")
            }
            scoresHandle = try FileHandle(forWritingTo: tmp)
            scoresTemporary = tmp
        }
        defer { if let scoresTemporary { try? FileManager.default.removeItem(at: scoresTemporary) } }
        let mode = options.progressMode
        for path in audio {
            let url = URL(fileURLWithPath: path)
            let info = try? AudioReader.info(url).frames
            let reporter = ProgressReporter(label: "frames of \(url.lastPathComponent)", total: info, mode: mode)
            var last = 0
            let summary = try detector.run(
                url, name: path,
                onDetection: { d in
                    if json {
                        say(String(decoding: try CanonicalJSON.encode(d), as: UTF8.self))
                    } else {
                        let peak = d.peakSeconds.map { String(format: "\tpeak %.2f s", $0) } ?? ""
                        say(
                            "\(d.file)\t" + String(format: "%.2f s\t", d.timeSeconds) + "\(d.label)\t"
                                + String(format: "%.3f", d.score) + peak)
                    }
                },
                onWindow: scoresHandle.map { handle in
                    { w in
                        var line = try CanonicalJSON.encode(w)
                        line.append(0x0A)
                        try handle.write(contentsOf: line)
                    }
                },
                progress: { done, _ in
                    reporter.advance(by: done - last)
                    last = done
                })
            reporter.finish()
            let rate = scorer.sampleRate
            if summary.padded {
                note(
                    "\(path): \(String(format: "%.3f", summary.seconds)) s is shorter than the "
                        + String(format: "%.3f", Double(scorer.windowSamples) / Double(rate))
                        + "-s window; zero-padded to one window")
            }
            if summary.channels > 1 || summary.fileSampleRate != rate {
                note(
                    "\(path): \(summary.fileSampleRate) Hz, \(summary.channels) channel(s): "
                        + (summary.channels > 1 ? "mixed down to mono (mean)" : "mono")
                        + (summary.fileSampleRate != rate ? ", resampled to \(rate) Hz (libsamplerate sinc-best)" : ""))
            }
            if mode.resolved != .quiet {
                note(
                    "\(path): " + String(format: "%.1f s", summary.seconds)
                        + ", \(summary.windows) windows, \(summary.detections) detection(s)")
            }
        }
        if let scoresHandle, let scoresTemporary, let scores {
            try scoresHandle.synchronize()
            try scoresHandle.close()
            try AtomicFile.commit(scoresTemporary, to: URL(fileURLWithPath: scores))
        }
    }

    func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
