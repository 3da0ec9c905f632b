import Foundation
import Testing

/// The one finite-difference gradient checker: central differences (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h against
/// a backward pass's gradient, element by element.
public enum FiniteDifferences {
    /// Checks every `stride`-th of `count` elements (`samples` spread over them; all when nil).
    /// - Parameters:
    ///   - loss: L with element i moved by `delta` from its original value (the element is restored after).
    ///   - gradient: the backward pass's dL/dxᵢ.
    ///   - relative: tolerance relative to max(1, |g|) instead of absolute.
    public static func expect(
        _ name: String, count: Int, samples: Int? = nil, step h: Float, tolerance: Double,
        relative: Bool = false, sourceLocation: SourceLocation = #_sourceLocation,
        gradient: (Int) -> Float, loss: (_ index: Int, _ delta: Float) throws -> Double
    ) rethrows {
        let stride = samples.map { max(1, count / $0) } ?? 1
        for i in Swift.stride(from: 0, to: count, by: stride) {
            let fd = (try loss(i, h) - (try loss(i, -h))) / Double(2 * h), g = Double(gradient(i))
            let bound = relative ? tolerance * max(1, abs(g)) : tolerance
            #expect(
                abs(fd - g) <= bound, "\(name)[\(i)]: finite difference \(fd), backward \(g)",
                sourceLocation: sourceLocation)
        }
    }

    /// Checks the gradient `grad` of `f` at `values`.
    public static func expect(
        _ name: String, _ values: [Float], _ grad: [Float], step h: Float, tolerance: Double,
        sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Float]) -> Double
    ) {
        expect(
            name, count: values.count, step: h, tolerance: tolerance, sourceLocation: sourceLocation,
            gradient: { grad[$0] }
        ) { i, delta in
            var x = values
            x[i] += delta
            return f(x)
        }
    }
}
