import AudioIO
import Foundation
import TKDCore

/// Runs the `espeak-ng` command-line synthesiser.
public struct Espeak: Sendable {
    public let executable: URL

    /// Finds `espeak-ng` on PATH (or at `ESPEAK_NG`).
    /// - Throws: `SynthesisError.toolMissing` with an install hint.
    public static func locate() throws -> Espeak {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["ESPEAK_NG"], FileManager.default.isExecutableFile(atPath: explicit) {
            return Espeak(executable: URL(fileURLWithPath: explicit))
        }
        for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("espeak-ng")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return Espeak(executable: candidate) }
        }
        throw SynthesisError.toolMissing(
            tool: "espeak-ng", hint: "install it with `apt-get install espeak-ng` (or `make deps`).")
    }

    /// `espeak-ng --version`, e.g. "1.51".
    public func version() throws -> String {
        let (out, _) = try run(["--version"])
        // "eSpeak NG text-to-speech: 1.51  Data at: …"
        let text = String(decoding: out, as: UTF8.self)
        if let r = text.range(of: "text-to-speech: ") {
            return String(text[r.upperBound...].prefix { !$0.isWhitespace })
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Speaks `text` and returns the audio at `sampleRate` (espeak-ng itself writes 22,050 Hz).
    public func speak(
        _ text: String, voice: String, variant: String, pitch: Int, rate: Int,
        sampleRate: Int, scratch: URL
    ) throws -> [Float] {
        let wav = AtomicFile.temporaryURL(for: scratch.appendingPathComponent("espeak.wav"))
        defer { try? FileManager.default.removeItem(at: wav) }
        _ = try run([
            "-v", "\(voice)+\(variant)", "-p", String(pitch), "-s", String(rate),
            "-w", wav.path, "--", text,
        ])
        return try AudioReader.read(wav, options: AudioReadOptions(sampleRate: sampleRate)).samples
    }

    /// Runs espeak-ng with `arguments`, returning standard output and error.
    /// - Throws: `SynthesisError.toolFailed` on a non-zero exit.
    func run(_ arguments: [String]) throws -> (Data, Data) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw SynthesisError.toolFailed(
                tool: executable.path, arguments: arguments.joined(separator: " "),
                status: -1, stderr: error.localizedDescription)
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SynthesisError.toolFailed(
                tool: "espeak-ng", arguments: arguments.joined(separator: " "),
                status: process.terminationStatus,
                stderr: String(decoding: errData, as: UTF8.self))
        }
        return (outData, errData)
    }
}
