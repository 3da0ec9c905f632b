import Foundation

/// Batch normalisation over the rows of a [N, C] matrix (N = examples × positions, channels last),
/// Keras semantics (STUDENTS.md §4): y = γ · (x − μ) / sqrt(σ² + ε) + β.
///
/// Training normalises with the batch mean and the biased batch variance; the running variance is
/// updated with the unbiased one (N / (N − 1)), as TensorFlow's fused batch norm (used by Keras for
/// 4-D inputs such as TC-ResNet's) and PyTorch do. Per-channel sums are accumulated in Double, row by
/// row (contiguous, so the loops vectorise).
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
        var sum = [Double](repeating: 0, count: c), sq = [Double](repeating: 0, count: c)
        sum.withUnsafeMutableBufferPointer { s in
            for r in 0..<n { let row = x + r * c; for ch in 0..<c { s[ch] += Double(row[ch]) } }
        }
        let meanD = sum.map { $0 / Double(n) }
        sq.withUnsafeMutableBufferPointer { q in
            meanD.withUnsafeBufferPointer { m in
                for r in 0..<n { let row = x + r * c; for ch in 0..<c { let d = Double(row[ch]) - m[ch]; q[ch] += d * d } }
            }
        }
        let varD = sq.map { $0 / Double(n) }
        let mean = meanD.map { Float($0) }, variance = varD.map { Float($0) }
        let invStd = varD.map { Float(1 / ($0 + Double(epsilon)).squareRoot()) }
        var xhat = uninitializedFloats(n * c)
        xhat.withUnsafeMutableBufferPointer { h in
            mean.withUnsafeBufferPointer { m in
                invStd.withUnsafeBufferPointer { s in
                    for r in 0..<n {
                        let row = x + r * c, hr = h.baseAddress! + r * c, yr = y + r * c
                        for ch in 0..<c {
                            let v = (row[ch] - m[ch]) * s[ch]
                            hr[ch] = v
                            yr[ch] = gamma[ch] * v + beta[ch]
                        }
                    }
                }
            }
        }
        return Cache(mean: mean, variance: variance, invStd: invStd, normalized: xhat, rows: n)
    }

    /// dx, and dγ, dβ accumulated (+=), for training mode:
    /// dx = γ·invStd · (dy − Σdy/N − x̂ · Σ(dy·x̂)/N).
    public static func backward(_ cache: Cache, outputGradient dy: UnsafePointer<Float>, channels c: Int, gamma: UnsafePointer<Float>,
                                inputGradient dx: UnsafeMutablePointer<Float>, gammaGradient dg: UnsafeMutablePointer<Float>,
                                betaGradient db: UnsafeMutablePointer<Float>) {
        let n = cache.rows
        var sumDy = [Double](repeating: 0, count: c), sumDyXhat = [Double](repeating: 0, count: c)
        cache.normalized.withUnsafeBufferPointer { h in
            sumDy.withUnsafeMutableBufferPointer { s in
                sumDyXhat.withUnsafeMutableBufferPointer { q in
                    for r in 0..<n {
                        let g = dy + r * c, hr = h.baseAddress! + r * c
                        for ch in 0..<c {
                            s[ch] += Double(g[ch])
                            q[ch] += Double(g[ch]) * Double(hr[ch])
                        }
                    }
                }
            }
            var a = [Float](repeating: 0, count: c), bh = a, k0 = a
            for ch in 0..<c {
                db[ch] += Float(sumDy[ch])
                dg[ch] += Float(sumDyXhat[ch])
                let scale = Double(gamma[ch]) * Double(cache.invStd[ch])
                a[ch] = Float(scale)
                bh[ch] = Float(-scale * sumDyXhat[ch] / Double(n))
                k0[ch] = Float(-scale * sumDy[ch] / Double(n))
            }
            for r in 0..<n {
                let g = dy + r * c, hr = h.baseAddress! + r * c, out = dx + r * c
                for ch in 0..<c { out[ch] = a[ch] * g[ch] + bh[ch] * hr[ch] + k0[ch] }
            }
        }
    }

    /// Inference mode: normalises with the running statistics.
    public static func forwardInference(_ x: UnsafePointer<Float>, rows n: Int, channels c: Int, gamma: UnsafePointer<Float>,
                                        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVariance: UnsafePointer<Float>,
                                        epsilon: Float, output y: UnsafeMutablePointer<Float>) {
        var scale = [Float](repeating: 0, count: c), shift = scale
        for ch in 0..<c {
            scale[ch] = gamma[ch] / (runningVariance[ch] + epsilon).squareRoot()
            shift[ch] = beta[ch] - runningMean[ch] * scale[ch]
        }
        for r in 0..<n {
            let row = x + r * c, out = y + r * c
            for ch in 0..<c { out[ch] = row[ch] * scale[ch] + shift[ch] }
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
