import CSndFile
import Foundation

@testable import AudioIO

/// Helpers shared by the AudioIO tests.
enum TestAudio {

    /// Writes interleaved 16-bit integers with libsndfile directly (independent of `AudioWriter`).
    static func writeInt16(
        _ samples: [Int16], channels: Int, sampleRate: Int, to url: URL,
        format: Int32 = Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
    ) {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        let h = sf_open(url.path, Int32(SFM_WRITE), &info)!
        samples.withUnsafeBufferPointer { _ = sf_writef_short(h, $0.baseAddress, sf_count_t(samples.count / channels)) }
        sf_close(h)
    }

    /// Reads a file's samples as 16-bit integers with libsndfile directly.
    static func readInt16(_ url: URL) -> [Int16] {
        var info = SF_INFO()
        let h = sf_open(url.path, Int32(SFM_READ), &info)!
        var out = [Int16](repeating: 0, count: Int(info.frames) * Int(info.channels))
        out.withUnsafeMutableBufferPointer { _ = sf_readf_short(h, $0.baseAddress, info.frames) }
        sf_close(h)
        return out
    }

    static func sine(frequency: Double, sampleRate: Int, count: Int, amplitude: Double = 0.5) -> [Float] {
        (0..<count).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate))) }
    }

    /// Magnitude spectrum |X[k]|, k = 0…n/2, by a direct DFT in Double (test-only, small n).
    static func spectrum(_ x: ArraySlice<Float>) -> [Double] {
        let n = x.count
        let xs = Array(x)
        // Hann window against leakage.
        let w = (0..<n).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n)) }
        return (0...(n / 2)).map { k in
            var re = 0.0, im = 0.0
            let step = 2 * Double.pi * Double(k) / Double(n)
            for t in 0..<n {
                let v = Double(xs[t]) * w[t]
                re += v * cos(step * Double(t))
                im -= v * sin(step * Double(t))
            }
            return (re * re + im * im).squareRoot()
        }
    }
}
