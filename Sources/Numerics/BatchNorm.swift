import Foundation

/// Batch normalisation over the rows of a [N, C] matrix (N = examples × positions, channels last),
/// Keras semantics (STUDENTS.md §4): y = γ · (x − μ) / sqrt(σ² + ε) + β.
///
/// Training normalises with the batch mean and the biased batch variance; the running variance is
/// updated with the unbiased one (N / (N − 1)), as TensorFlow's fused batch norm (used by Keras for
/// 4-D inputs such as TC-ResNet's) and PyTorch do. Sums are in Double.
public enum BatchNorm {
    /// What training-mode forward keeps for backward.
    public struct Cache: Sendable {
        public var mean: [Float]
        public var variance: [Float]       // biased
        public var invStd: [Float]
        public var normalized: [Float]     // x̂, N × C
        public let rows: Int
    }

    /// Training mode: normalises with the batch statistics.
    public static func forwardTraining(_ x: UnsafePointer<Float>, rows n: Int, channels c: Int, gamma: UnsafePointer<Float>,
                                       beta: UnsafePointer<Float>, epsilon: Float, output y: UnsafeMutablePointer<Float>) -> Cache {
        var mean = [Float](repeating: 0, count: c), variance = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            var s = 0.0
            for r in 0..<n { s += Double(x[r * c + ch]) }
            let m = s / Double(n)
            var v = 0.0
            for r in 0..<n { let d = Double(x[r * c + ch]) - m; v += d * d }
            v /= Double(n)
            mean[ch] = Float(m)
            variance[ch] = Float(v)
            invStd[ch] = Float(1 / (v + Double(epsilon)).squareRoot())
        }
        var xhat = [Float](repeating: 0, count: n * c)
        for r in 0..<n {
            for ch in 0..<c {
                let h = (x[r * c + ch] - mean[ch]) * invStd[ch]
                xhat[r * c + ch] = h
                y[r * c + ch] = gamma[ch] * h + beta[ch]
            }
        }
        return Cache(mean: mean, variance: variance, invStd: invStd, normalized: xhat, rows: n)
    }

    /// dx, and dγ, dβ accumulated (+=), for training mode.
    public static func backward(_ cache: Cache, outputGradient dy: UnsafePointer<Float>, channels c: Int, gamma: UnsafePointer<Float>,
                                inputGradient dx: UnsafeMutablePointer<Float>, gammaGradient dg: UnsafeMutablePointer<Float>,
                                betaGradient db: UnsafeMutablePointer<Float>) {
        let n = cache.rows
        for ch in 0..<c {
            var sumDy = 0.0, sumDyXhat = 0.0
            for r in 0..<n {
                let g = Double(dy[r * c + ch])
                sumDy += g
                sumDyXhat += g * Double(cache.normalized[r * c + ch])
            }
            db[ch] += Float(sumDy)
            dg[ch] += Float(sumDyXhat)
            let k = Double(gamma[ch]) * Double(cache.invStd[ch]) / Double(n)
            for r in 0..<n {
                let i = r * c + ch
                dx[i] = Float(k * (Double(n) * Double(dy[i]) - sumDy - Double(cache.normalized[i]) * sumDyXhat))
            }
        }
    }

    /// Inference mode: normalises with the running statistics.
    public static func forwardInference(_ x: UnsafePointer<Float>, rows n: Int, channels c: Int, gamma: UnsafePointer<Float>,
                                        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVariance: UnsafePointer<Float>,
                                        epsilon: Float, output y: UnsafeMutablePointer<Float>) {
        for ch in 0..<c {
            let scale = gamma[ch] / (runningVariance[ch] + epsilon).squareRoot()
            let shift = beta[ch] - runningMean[ch] * scale
            for r in 0..<n { y[r * c + ch] = x[r * c + ch] * scale + shift }
        }
    }

    /// running ← momentum · running + (1 − momentum) · batch, with the unbiased batch variance.
    public static func updateRunning(_ cache: Cache, momentum: Float, runningMean: UnsafeMutablePointer<Float>,
                                     runningVariance: UnsafeMutablePointer<Float>, channels c: Int) {
        let n = Float(cache.rows)
        let bessel = n > 1 ? n / (n - 1) : 1
        for ch in 0..<c {
            runningMean[ch] = momentum * runningMean[ch] + (1 - momentum) * cache.mean[ch]
            runningVariance[ch] = momentum * runningVariance[ch] + (1 - momentum) * cache.variance[ch] * bessel
        }
    }
}
