import Foundation
import Testing

/// How far two arrays are apart: the worst element, where it is and the two values there.
public struct Closeness: CustomStringConvertible, Sendable {
    /// max |got − want| (or relative to `scale` when one was given).
    public let error: Double
    public let index: Int
    public let got: Float
    public let want: Float
    /// What the error is relative to (1 for absolute errors).
    public let scale: Double

    /// Compares element by element; `relativeTo` divides the errors by max(max |want|, floor) (an all-zero
    /// reference with no floor must then be matched exactly).
    public init(_ got: [Float], _ want: [Float], relativeTo floor: Float? = nil) {
        precondition(got.count == want.count, "sizes \(got.count) and \(want.count)")
        var worst = (error: 0.0, index: 0)
        for i in got.indices {
            let e = Double(abs(got[i] - want[i]))
            if e > worst.error { worst = (e, i) }
        }
        var scale = 1.0
        if let floor {
            let largest = Double(max(want.map(abs).max() ?? 0, floor))
            scale = largest > 0 ? largest : 1
        }
        error = worst.error / scale
        index = worst.index
        self.got = got.isEmpty ? 0 : got[worst.index]
        self.want = want.isEmpty ? 0 : want[worst.index]
        self.scale = scale
    }

    public var description: String {
        let kind = scale == 1 ? "" : " (relative to \(scale))"
        return "worst error \(error)\(kind) at [\(index)]: \(got) against \(want)"
    }
}

/// Expects `got` within `tolerance` of `want` (absolute, or relative with `relativeTo`); a failure names the
/// worst element and both values there.
@discardableResult
public func expectClose(
    _ got: [Float], _ want: [Float], tolerance: Double, relativeTo floor: Float? = nil, _ name: String,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Closeness {
    let c = Closeness(got, want, relativeTo: floor)
    #expect(c.error <= tolerance, "\(name): \(c)", sourceLocation: sourceLocation)
    return c
}
