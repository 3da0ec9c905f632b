import Foundation

/// A long recording read block by block as mono Float32 at a chosen rate (`tkd detect`): memory stays
/// proportional to a block whatever the file's length. Channels are mixed down per `DownMix` (the mean by
/// default), and another rate is converted by a libsamplerate stream (`StreamingResampler`), so the samples
/// equal `AudioReader.read`'s up to the resampler's block boundaries.
public final class AudioStream {
    public let url: URL
    /// The file's own rate, channel count and length in frames.
    public let fileSampleRate: Int
    public let channels: Int
    public let frames: Int
    /// The rate of the samples `read` returns.
    public let sampleRate: Int
    private let file: SndFile
    private let resampler: StreamingResampler?
    private let downMix: DownMix
    /// File frames consumed so far.
    public private(set) var framesRead = 0

    /// Frames decoded per block.
    public static let blockFrames = 1 << 16

    /// - Throws: `AudioError` naming the file (missing, not audio, truncated, empty, …).
    public init(
        _ url: URL, sampleRate: Int? = nil, quality: ResampleQuality = .sincBest, downMix: DownMix = .mean
    )
        throws
    {
        self.url = url
        file = try SndFile(readingFrom: url.path, limitSamples: false)
        fileSampleRate = file.sampleRate
        channels = file.channels
        frames = file.frames
        self.sampleRate = sampleRate ?? file.sampleRate
        self.downMix = downMix
        if self.sampleRate != file.sampleRate {
            resampler = try StreamingResampler(
                from: file.sampleRate, to: self.sampleRate, inputFrames: file.frames, quality: quality)
        } else {
            resampler = nil
        }
    }

    /// The stream's length in output samples.
    public var length: Int {
        resampler == nil ? frames : Resampler.outputLength(inputFrames: frames, from: fileSampleRate, to: sampleRate)
    }

    /// The next block of mono samples; empty once the file is exhausted.
    /// - Throws: `AudioError.truncated` when the data ends before the header said.
    public func read() throws -> [Float] {
        guard framesRead < frames else { return [] }
        let n = min(Self.blockFrames, frames - framesRead)
        let interleaved = try file.readFloat(frames: n)
        framesRead += n
        let mono = try AudioReader.mix(interleaved, channels: channels, mode: downMix, path: url.path)
        guard let resampler else { return mono }
        return try resampler.process(mono, last: framesRead >= frames)
    }
}
