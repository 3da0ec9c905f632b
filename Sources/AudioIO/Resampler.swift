import CSampleRate
import Foundation

// All libsamplerate interop lives in this file.

/// libsamplerate converters, best to fastest.
public enum ResampleQuality: String, Sendable, CaseIterable, Codable {
    case sincBest = "sinc-best"
    case sincMedium = "sinc-medium"
    case sincFastest = "sinc-fastest"
    case zeroOrderHold = "zero-order-hold"
    case linear

    var converter: Int32 {
        switch self {
        case .sincBest: return Int32(SRC_SINC_BEST_QUALITY)
        case .sincMedium: return Int32(SRC_SINC_MEDIUM_QUALITY)
        case .sincFastest: return Int32(SRC_SINC_FASTEST)
        case .zeroOrderHold: return Int32(SRC_ZERO_ORDER_HOLD)
        case .linear: return Int32(SRC_LINEAR)
        }
    }
}

/// Sample-rate conversion with libsamplerate's full API.
public enum Resampler {
    /// The exact output length for `inputFrames` at `from` → `to`: `round(n · to / from)`,
    /// halves rounded up, computed in integers.
    public static func outputLength(inputFrames n: Int, from: Int, to: Int) -> Int {
        (2 * n * to + from) / (2 * from)
    }

    /// Resamples a mono signal. The result always has exactly `outputLength(…)` samples:
    /// libsamplerate can deliver one frame fewer (or more) than that after flushing, in which case the
    /// last sample is repeated (or the surplus dropped).
    /// - Throws: `AudioError.resampleFailed` for a rate ≤ 0 or a libsamplerate error.
    public static func resample(
        _ input: [Float], from: Int, to: Int,
        quality: ResampleQuality = .sincBest
    ) throws -> [Float] {
        guard from > 0, to > 0 else {
            throw AudioError.resampleFailed(reason: "sample rates must be positive; got \(from) → \(to)")
        }
        if from == to || input.isEmpty { return input }
        let expected = outputLength(inputFrames: input.count, from: from, to: to)
        let ratio = Double(to) / Double(from)
        var error: Int32 = 0
        guard let state = src_new(quality.converter, 1, &error) else {
            throw AudioError.resampleFailed(reason: String(cString: src_strerror(error)))
        }
        defer { src_delete(state) }
        // Room for the whole output plus the filter's flush.
        var output = [Float](repeating: 0, count: expected + 64)
        var produced = 0
        var consumed = 0
        try input.withUnsafeBufferPointer { inBuf in
            try output.withUnsafeMutableBufferPointer { outBuf in
                while true {
                    var data = SRC_DATA()
                    data.data_in = inBuf.baseAddress! + consumed
                    data.input_frames = Int(input.count - consumed)
                    data.data_out = outBuf.baseAddress! + produced
                    data.output_frames = Int(outBuf.count - produced)
                    data.end_of_input = 1
                    data.src_ratio = ratio
                    let rc = src_process(state, &data)
                    if rc != 0 {
                        throw AudioError.resampleFailed(reason: String(cString: src_strerror(rc)))
                    }
                    consumed += Int(data.input_frames_used)
                    produced += Int(data.output_frames_gen)
                    if data.output_frames_gen == 0 || produced >= outBuf.count { break }
                }
            }
        }
        if produced >= expected {
            output.removeLast(output.count - expected)
        } else {
            let last = produced > 0 ? output[produced - 1] : 0
            output.removeLast(output.count - produced)
            output.append(contentsOf: repeatElement(last, count: expected - produced))
        }
        return output
    }

    /// libsamplerate's version string.
    public static var libraryVersion: String { String(cString: src_get_version()) }
}

/// A libsamplerate converter fed block by block (`AudioStream`): the same conversion for any block sizes the
/// caller reads, in memory proportional to a block. The output of the whole stream has
/// `Resampler.outputLength` samples, like `Resampler.resample` (the last sample repeated or the surplus
/// dropped when libsamplerate's flush ends one off).
final class StreamingResampler {
    private let state: OpaquePointer
    let ratio: Double
    let expected: Int
    private(set) var produced = 0

    /// - Parameter inputFrames: the whole stream's length at `from`.
    init(from: Int, to: Int, inputFrames: Int, quality: ResampleQuality) throws {
        guard from > 0, to > 0 else {
            throw AudioError.resampleFailed(reason: "sample rates must be positive; got \(from) → \(to)")
        }
        var error: Int32 = 0
        guard let s = src_new(quality.converter, 1, &error) else {
            throw AudioError.resampleFailed(reason: String(cString: src_strerror(error)))
        }
        state = s
        ratio = Double(to) / Double(from)
        expected = Resampler.outputLength(inputFrames: inputFrames, from: from, to: to)
    }

    deinit { src_delete(state) }

    /// Converts one block (`last` for the stream's final block, which flushes the filter).
    func process(_ input: [Float], last: Bool) throws -> [Float] {
        var output: [Float] = []
        var consumed = 0
        var buffer = [Float](repeating: 0, count: Int(Double(input.count) * ratio) + 1024)
        while true {
            var data = SRC_DATA()
            let (used, gen): (Int, Int) = try input.withUnsafeBufferPointer { inBuf in
                try buffer.withUnsafeMutableBufferPointer { outBuf in
                    data.data_in = inBuf.baseAddress.map { $0 + consumed }
                    data.input_frames = Int(input.count - consumed)
                    data.data_out = outBuf.baseAddress!
                    data.output_frames = Int(outBuf.count)
                    data.end_of_input = last ? 1 : 0
                    data.src_ratio = ratio
                    let rc = src_process(state, &data)
                    if rc != 0 { throw AudioError.resampleFailed(reason: String(cString: src_strerror(rc))) }
                    return (Int(data.input_frames_used), Int(data.output_frames_gen))
                }
            }
            consumed += used
            output += buffer[0..<gen]
            let inputDone = consumed >= input.count
            if last {
                if inputDone && gen == 0 { break }
            } else if (inputDone && gen < buffer.count) || (used == 0 && gen == 0) {
                break
            }
        }
        // Keep the stream's total at `expected`.
        let allowed = max(0, expected - produced)
        if output.count > allowed { output.removeLast(output.count - allowed) }
        produced += output.count
        if last && produced < expected {
            let pad = output.last ?? 0
            output += repeatElement(pad, count: expected - produced)
            produced = expected
        }
        return output
    }
}
