import Foundation

/// Energy-based detection of the active (non-silent) span of a signal.
///
/// The signal is cut into non-overlapping frames; a frame is active when its RMS is within
/// `thresholdDB` of the loudest frame's RMS (and above `floorRMS`). The span runs from the start of
/// the first active frame to the end of the last one, widened by `marginSamples` on each side and
/// clipped to the signal.
public struct ActiveSpanDetector: Sendable, Equatable, Codable {
    /// Frame length in samples (10 ms at 16 kHz by default).
    public var frameLength: Int
    /// How far below the loudest frame a frame may be and still count as active (dB, positive).
    public var thresholdDB: Double
    /// Absolute RMS below which nothing is active (guards all-silent input).
    public var floorRMS: Double
    /// Samples added on each side of the detected span.
    public var marginSamples: Int

    enum CodingKeys: String, CodingKey {
        case frameLength = "frame_length"
        case thresholdDB = "threshold_db"
        case floorRMS = "floor_rms"
        case marginSamples = "margin_samples"
    }

    public init(
        frameLength: Int = 160, thresholdDB: Double = 40, floorRMS: Double = 1e-5,
        marginSamples: Int = 80
    ) {
        self.frameLength = frameLength
        self.thresholdDB = thresholdDB
        self.floorRMS = floorRMS
        self.marginSamples = marginSamples
    }

    /// The active span as a half-open sample range, or nil when nothing is active.
    public func span(_ x: [Float]) -> Range<Int>? {
        guard !x.isEmpty, frameLength > 0 else { return nil }
        let frames = (x.count + frameLength - 1) / frameLength
        var rms = [Double](repeating: 0, count: frames)
        for f in 0..<frames {
            let lo = f * frameLength, hi = min(lo + frameLength, x.count)
            rms[f] = Levels.rms(x, range: lo..<hi)
        }
        guard let loudest = rms.max(), loudest > floorRMS else { return nil }
        let threshold = max(loudest * pow(10, -thresholdDB / 20), floorRMS)
        guard let first = rms.firstIndex(where: { $0 >= threshold }),
            let last = rms.lastIndex(where: { $0 >= threshold })
        else { return nil }
        let lo = max(0, first * frameLength - marginSamples)
        let hi = min(x.count, min((last + 1) * frameLength, x.count) + marginSamples)
        return lo..<hi
    }
}
