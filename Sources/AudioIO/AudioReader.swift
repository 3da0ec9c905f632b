import Foundation

/// How multi-channel audio becomes mono.
public enum DownMix: String, Sendable, CaseIterable, Codable {
    /// The arithmetic mean of all channels (torchaudio's and librosa's `to_mono`).
    case mean
    /// The first channel only.
    case first
    /// Refuse anything but mono (`AudioError.unexpectedChannels`).
    case requireMono = "require-mono"
}

/// Options for reading audio.
public struct AudioReadOptions: Sendable {
    /// The rate to deliver; `nil` keeps the file's rate.
    public var sampleRate: Int?
    /// When the file's rate differs from `sampleRate`: resample (true) or throw
    /// `AudioError.unexpectedSampleRate` (false).
    public var allowResample: Bool
    public var quality: ResampleQuality
    public var downMix: DownMix

    public init(
        sampleRate: Int? = nil, allowResample: Bool = true,
        quality: ResampleQuality = .sincBest, downMix: DownMix = .mean
    ) {
        self.sampleRate = sampleRate
        self.allowResample = allowResample
        self.quality = quality
        self.downMix = downMix
    }
}

/// Reads anything libsndfile reads (WAV PCM 8/16/24/32 and float, FLAC, OGG, AIFF, …) into mono Float32.
///
/// Integer PCM is scaled by 1/2^(bits-1) (PCM16: x / 32768, the torchaudio/soundfile convention).
/// Multi-channel audio is down-mixed per `DownMix` (mean by default).
public enum AudioReader {
    /// The header of `url`, without decoding samples.
    /// - Throws: `AudioError.missing`, `.notAudio`, `.truncated`, `.empty`.
    public static func info(_ url: URL) throws -> AudioInfo {
        let file = try SndFile(readingFrom: url.path)
        let names = file.formatNames
        return AudioInfo(
            path: url.path, frames: file.frames, sampleRate: file.sampleRate,
            channels: file.channels, container: names.container, encoding: names.subtype)
    }

    /// The whole file as mono Float32 at `options.sampleRate` (or the file's rate).
    ///
    /// With resampling the result has exactly `round(frames * out / in)` samples.
    /// - Throws: any `AudioError` naming the file.
    public static func read(_ url: URL, options: AudioReadOptions = AudioReadOptions()) throws -> AudioBuffer {
        let file = try SndFile(readingFrom: url.path)
        let interleaved = try file.readFloat(frames: file.frames)
        let mono = try mix(interleaved, channels: file.channels, mode: options.downMix, path: url.path)
        return try convert(AudioBuffer(samples: mono, sampleRate: file.sampleRate), options: options, path: url.path)
    }

    /// Frames `[start, start + length)` of a file, in the file's own frame numbering, without decoding
    /// the rest (libsndfile seeks). The window is then down-mixed and, if asked, resampled on its own
    /// (so its edges can differ slightly from the same span cut out of a resampled full read).
    /// - Throws: `AudioError.invalidWindow` when the window leaves the file, and any read error.
    public static func readWindow(
        _ url: URL, start: Int, length: Int,
        options: AudioReadOptions = AudioReadOptions()
    ) throws -> AudioBuffer {
        let file = try SndFile(readingFrom: url.path)
        guard start >= 0, length >= 0, case let (end, false) = start.addingReportingOverflow(length), end <= file.frames
        else {
            throw AudioError.invalidWindow(path: url.path, start: start, length: length, frames: file.frames)
        }
        try file.seek(to: start)
        let interleaved = try file.readFloat(frames: length)
        let mono = try mix(interleaved, channels: file.channels, mode: options.downMix, path: url.path)
        return try convert(AudioBuffer(samples: mono, sampleRate: file.sampleRate), options: options, path: url.path)
    }

    static func mix(_ interleaved: [Float], channels: Int, mode: DownMix, path: String) throws -> [Float] {
        if channels == 1 { return interleaved }
        let frames = interleaved.count / channels
        var mono = [Float](repeating: 0, count: frames)
        switch mode {
        case .requireMono:
            throw AudioError.unexpectedChannels(path: path, channels: channels, expected: 1)
        case .first:
            for f in 0..<frames { mono[f] = interleaved[f * channels] }
        case .mean:
            let scale = 1 / Float(channels)
            interleaved.withUnsafeBufferPointer { src in
                for f in 0..<frames {
                    var s: Float = 0
                    for c in 0..<channels { s += src[f * channels + c] }
                    mono[f] = s * scale
                }
            }
        }
        return mono
    }

    static func convert(_ buffer: AudioBuffer, options: AudioReadOptions, path: String) throws -> AudioBuffer {
        guard let target = options.sampleRate, target != buffer.sampleRate else { return buffer }
        guard options.allowResample else {
            throw AudioError.unexpectedSampleRate(path: path, sampleRate: buffer.sampleRate, expected: target)
        }
        let samples = try Resampler.resample(
            buffer.samples, from: buffer.sampleRate, to: target,
            quality: options.quality)
        return AudioBuffer(samples: samples, sampleRate: target)
    }

    /// libsndfile's version string, e.g. "libsndfile-1.2.0".
    public static var libraryVersion: String { SndFile.versionString }
}
