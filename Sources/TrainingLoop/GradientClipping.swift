import Foundation
import Layers
import Numerics

/// Global-norm gradient clipping over parameters' gradients.
public enum GradientClipping {
    /// Scales every gradient so that their joint L2 norm is at most `maxNorm`; returns the norm before.
    @discardableResult
    public static func clip(_ parameters: [Parameter], maxNorm: Float) -> Float {
        withGradientBuffers(parameters[...], []) { clipGlobalNorm($0, maxNorm: maxNorm) }
    }

    /// Calls `body` with every parameter's gradient as a mutable buffer at once.
    static func withGradientBuffers<R>(
        _ params: ArraySlice<Parameter>, _ buffers: [UnsafeMutableBufferPointer<Float>],
        _ body: ([UnsafeMutableBufferPointer<Float>]) -> R
    ) -> R {
        guard let first = params.first else { return body(buffers) }
        return first.gradient.withUnsafeMutableBufferPointer {
            withGradientBuffers(params.dropFirst(), buffers + [$0], body)
        }
    }
}
