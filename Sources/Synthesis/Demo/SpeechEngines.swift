import AudioIO
import Foundation
import TKDCore

/// The Debian text-to-speech engines `tkd corpus demo` can speak with.
public enum SpeechEngineKind: String, Sendable, Codable, CaseIterable {
    case espeakNG = "espeak-ng"
    case flite
    case festival

    /// The Debian packages that provide the engine and the voices the demo corpus uses.
    public var packages: String {
        switch self {
        case .espeakNG: return "espeak-ng"
        case .flite: return "flite"
        case .festival: return "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
        }
    }

    /// The engine's executable.
    var executableName: String {
        switch self {
        case .espeakNG: return "espeak-ng"
        case .flite: return "flite"
        case .festival: return "festival"
        }
    }

    /// Voices the demo corpus cycles through (espeak-ng: accents, combined with `DemoSpeaker.variants`).
    public var voices: [String] {
        switch self {
        case .espeakNG:
            return [
                "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp",
                "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
            ]
        case .flite: return ["kal16", "awb", "rms", "slt"]
        case .festival: return ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"]
        }
    }

    /// The voice's mean F0 range in Hz for the speaker table (flite and festival; espeak-ng uses its own
    /// 0-99 pitch scale), or nil when the voice's pitch cannot be set (festival's HTS voice: its speakers
    /// differ by `warp` alone).
    static func pitchRange(voice: String) -> ClosedRange<Int>? {
        switch voice {
        case "slt": return 150...220
        case "cmu_us_slt_arctic_hts": return nil
        default: return 85...140
        }
    }

    /// Whether the engine can change the speaking rate of `voice` (festival's HTS voice ignores
    /// `Duration_Stretch`; its rate varies through `warp`).
    static func setsRate(voice: String) -> Bool { voice != "cmu_us_slt_arctic_hts" }
}

/// One word to speak: the text, and the speaker's settings with this utterance's variation applied.
struct SpeechRequest: Sendable {
    let text: String
    /// espeak-ng: pitch 0-99; flite/festival: target mean F0 in Hz (0 = the voice's own).
    let pitch: Int
    /// espeak-ng: words per minute; flite/festival: speed in percent of the voice's own.
    let rate: Int
    /// Where the engine writes its WAV.
    let wav: URL
}

/// Runs the installed engines (`espeak-ng`, `flite`, `festival`) as child processes.
public struct SpeechEngines: Sendable {
    public let executables: [SpeechEngineKind: URL]

    /// Finds the engines' executables on PATH (espeak-ng also at `ESPEAK_NG`).
    /// - Throws: `SynthesisError.toolMissing` with the Debian packages to install.
    public static func locate(_ kinds: [SpeechEngineKind]) throws -> SpeechEngines {
        let env = ProcessInfo.processInfo.environment
        var found: [SpeechEngineKind: URL] = [:]
        for kind in kinds {
            if kind == .espeakNG, let explicit = env["ESPEAK_NG"],
                FileManager.default.isExecutableFile(atPath: explicit)
            {
                found[kind] = URL(fileURLWithPath: explicit)
                continue
            }
            for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
                let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(kind.executableName)
                if FileManager.default.isExecutableFile(atPath: candidate.path) {
                    found[kind] = candidate
                    break
                }
            }
            guard found[kind] != nil else {
                throw SynthesisError.toolMissing(
                    tool: kind.executableName,
                    hint: "install it with `apt-get install \(kind.packages)` (or `make deps`).")
            }
        }
        return SpeechEngines(executables: found)
    }

    /// Each engine's version, e.g. `["espeak-ng": "1.51", "flite": "2.2", "festival": "2.5.0"]`.
    public func versions() throws -> [String: String] {
        var out: [String: String] = [:]
        for kind in executables.keys {
            // flite prints its version and exits with status 1.
            let (stdout, _) = try run(kind, ["--version"], check: kind != .flite)
            let text = String(decoding: stdout, as: UTF8.self)
            switch kind {
            case .espeakNG:
                // "eSpeak NG text-to-speech: 1.51  Data at: …"
                if let r = text.range(of: "text-to-speech: ") {
                    out[kind.rawValue] = String(text[r.upperBound...].prefix { !$0.isWhitespace })
                    continue
                }
            case .flite:
                // "  Carnegie Mellon University, … version: flite-2.2-current Jul 2017 …"
                if let r = text.range(of: "version: flite-") {
                    out[kind.rawValue] = String(text[r.upperBound...].prefix { !$0.isWhitespace && $0 != "-" })
                    continue
                }
            case .festival:
                // "festival: Festival Speech Synthesis System: 2.5.0:release December 2017"
                if let r = text.range(of: "System: ") {
                    out[kind.rawValue] = String(text[r.upperBound...].prefix { !$0.isWhitespace && $0 != ":" })
                    continue
                }
            }
            out[kind.rawValue] = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return out
    }

    /// Speaks `requests` with `speaker`'s engine and voice; returns each word's audio at the engine's own
    /// rate, with that rate. festival speaks all of them in one process.
    func speak(_ requests: [SpeechRequest], speaker: DemoSpeaker) throws -> [(samples: [Float], rate: Int)] {
        defer { for r in requests { try? FileManager.default.removeItem(at: r.wav) } }
        switch speaker.engine {
        case .espeakNG:
            for r in requests {
                _ = try run(
                    .espeakNG,
                    [
                        "-v", "\(speaker.voice)+\(speaker.variant)", "-p", String(r.pitch), "-s", String(r.rate),
                        "-w", r.wav.path, "--", r.text,
                    ])
            }
        case .flite:
            for r in requests {
                var args = ["-voice", speaker.voice, "--setf", "duration_stretch=\(stretch(r.rate))"]
                if r.pitch > 0 { args += ["--setf", "int_f0_target_mean=\(r.pitch)"] }
                _ = try run(.flite, args + ["-t", r.text, "-o", r.wav.path])
            }
        case .festival:
            var script = "(voice_\(speaker.voice))\n"
            for r in requests {
                script += "(Parameter.set 'Duration_Stretch \(stretch(r.rate)))\n"
                if r.pitch > 0 {
                    script +=
                        "(set! int_lr_params '((target_f0_mean \(r.pitch)) (target_f0_std \(max(8, r.pitch / 8))) "
                        + "(model_f0_mean 170) (model_f0_std 34)))\n"
                }
                script += "(utt.save.wave (utt.synth (Utterance Text \"\(r.text)\")) \"\(r.wav.path)\" 'riff)\n"
            }
            let file = AtomicFile.temporaryURL(
                for: requests[0].wav.deletingLastPathComponent()
                    .appendingPathComponent("festival.scm"))
            defer { try? FileManager.default.removeItem(at: file) }
            try Data(script.utf8).write(to: file)
            _ = try run(.festival, ["-b", file.path])
        }
        return try requests.map { r in
            let buffer = try AudioReader.read(r.wav)
            return (buffer.samples, buffer.sampleRate)
        }
    }

    /// flite's `duration_stretch` / festival's `Duration_Stretch` for a speed in percent.
    func stretch(_ ratePercent: Int) -> String { String(format: "%.4f", 100.0 / Double(max(ratePercent, 1))) }

    /// Runs an engine with `arguments`, returning standard output and error.
    /// - Throws: `SynthesisError.toolFailed` on a non-zero exit (unless `check` is false).
    func run(_ kind: SpeechEngineKind, _ arguments: [String], check: Bool = true) throws -> (Data, Data) {
        let process = Process()
        process.executableURL = executables[kind]!
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw SynthesisError.toolFailed(
                tool: kind.executableName, arguments: arguments.joined(separator: " "),
                status: -1, stderr: error.localizedDescription)
        }
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        let errData = LockedBox(Data())
        let done = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        Thread {
            errData.set(errHandle.readDataToEndOfFile())
            done.signal()
        }.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        done.wait()
        guard process.terminationStatus == 0 || !check else {
            throw SynthesisError.toolFailed(
                tool: kind.executableName, arguments: arguments.joined(separator: " "),
                status: process.terminationStatus,
                stderr: String(decoding: errData.value, as: UTF8.self))
        }
        return (outData, errData.value)
    }
}

/// A value handed over from another thread.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    func set(_ value: T) { lock.withLock { stored = value } }
    var value: T { lock.withLock { stored } }
}
