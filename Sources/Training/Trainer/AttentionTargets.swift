import DatasetFormat
import Foundation
import Numerics

extension Student {
    /// The input frame (fractional) at the centre of context step t′ for an input of `frames` frames
    /// (Docs/students.md §11): the same frame for the recurrent students; 2t′ shifted by the stride-2
    /// block's padding for TC-ResNet; t′ + 3 for CRNN's two valid convolutions (3 + 5 − 1 = 7 frames).
    public func contextCentreFrame(step t: Int, frames: Int) -> Double {
        switch self {
        case .lstmP, .attRNN, .mhAttRNN:
            return Double(t)
        case .tcResNet:
            let axis = ConvAxis(input: frames, kernel: 9, stride: 2, padding: .same)
            return Double(2 * t - axis.padBefore + 4)
        case .crnn:
            return Double(t) + 3
        }
    }

    /// The centres of the context steps, in samples, given the input frames' centres (`frameCentre`).
    public func contextCentres(frames: Int, frameCentre: (Double) -> Double) -> [Double] {
        (0..<contextSteps(frames: frames)).map { frameCentre(contextCentreFrame(step: $0, frames: frames)) }
    }

    /// The fewest input frames the student accepts: CRNN's two valid convolutions take 3 + 5 − 1 = 7
    /// frames for one context step; the others pad their convolutions and need one.
    public var minimumFrames: Int {
        switch self {
        case .crnn: return 7
        case .lstmP, .attRNN, .mhAttRNN, .tcResNet: return 1
        }
    }

    /// T′ for an input of `frames` frames.
    public func contextSteps(frames: Int) -> Int {
        switch self {
        case .lstmP, .attRNN, .mhAttRNN: return frames
        case .tcResNet: return ConvAxis(input: frames, kernel: 9, stride: 2, padding: .same).output
        case .crnn: return max(frames - 6, 0)
        }
    }
}

/// Distillation targets a_T over the student's T′ context steps.
public enum AttentionTargets {
    /// The "oracle" target: uniform over the context steps whose centre falls inside the manifest's
    /// recorded speech-active span [speech_onset, speech_offset) (the nearest step when none does);
    /// uniform over every step for examples without a keyword (`_silence_`). `centres` are the context
    /// steps' centres in samples (`Student.contextCentres`); `shift` moves the span by that many samples
    /// (the features were shifted by the same amount). In a clip dataset the spans are the example's recorded
    /// `events` (the stand-in's): uniform over the steps inside any of them, the step nearest the middle of the
    /// first when none is; uniform over every step without events (the real FSD50K records none).
    public static func oracle(_ record: ExampleRecord, centres: [Double], shift: Int = 0) -> [Float] {
        let steps = centres.count
        guard steps > 0 else { return [] }
        let spans = record.evidenceSpans
        guard let first = spans.first else { return [Float](repeating: 1 / Float(steps), count: steps) }
        var inside = centres.indices.filter { j in
            spans.contains { centres[j] >= Double($0.0 + shift) && centres[j] < Double($0.1 + shift) }
        }
        if inside.isEmpty {
            let mid = Double(first.0 + first.1) / 2 + Double(shift)
            inside = [centres.indices.min { abs(centres[$0] - mid) < abs(centres[$1] - mid) }!]
        }
        var a = [Float](repeating: 0, count: steps)
        for i in inside { a[i] = 1 / Float(inside.count) }
        return a
    }

    /// Brings a teacher vector v (length T) to `count` (T′) by linear interpolation, then renormalises to
    /// sum 1. `.index`: position j reads v at j·(T − 1)/(T′ − 1) (the paper). `.centers`: position j reads v
    /// at the time `targetTimes[j]` on the grid `sourceTimes` (both in seconds; clamped at the ends).
    public static func resample(
        _ v: [Float], to count: Int, mode: AttentionResampling,
        sourceTimes: [Double]? = nil, targetTimes: [Double]? = nil
    ) -> [Float] {
        precondition(!v.isEmpty && count > 0, "resampling needs a non-empty vector and length")
        func at(_ x: Double) -> Double {
            let p = min(max(x, 0), Double(v.count - 1))
            let i = Int(p.rounded(.down)), f = p - Double(i)
            return i + 1 < v.count ? Double(v[i]) * (1 - f) + Double(v[i + 1]) * f : Double(v[i])
        }
        var out: [Double]
        switch mode {
        case .index:
            out = (0..<count).map { j in
                count == 1 ? at(Double(v.count - 1) / 2) : at(Double(j) * Double(v.count - 1) / Double(count - 1))
            }
        case .centers:
            guard let src = sourceTimes, let dst = targetTimes, src.count == v.count, dst.count == count else {
                preconditionFailure("centre resampling needs the source and target time grids")
            }
            out = dst.map { t in
                // Fractional position of t on the (increasing) source grid.
                if t <= src[0] { return at(0) }
                if t >= src[src.count - 1] { return at(Double(src.count - 1)) }
                var lo = 0, hi = src.count - 1
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2
                    if src[mid] <= t { lo = mid } else { hi = mid }
                }
                return at(Double(lo) + (t - src[lo]) / (src[hi] - src[lo]))
            }
        }
        let total = out.reduce(0, +)
        return out.map { Float(total > 0 ? $0 / total : 1 / Double(count)) }
    }
}
