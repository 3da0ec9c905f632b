import Foundation
import TKDCore

/// Batch normalisation over the rows of a [N, C] matrix (N = examples × positions, channels last),
/// Keras semantics (Docs/students.md §4): y = γ · (x − μ) / sqrt(σ² + ε) + β.
///
/// Training normalises with the batch mean and the biased batch variance; the running variance is
/// updated with the unbiased one (N / (N − 1)), as TensorFlow's fused batch norm (used by Keras for
/// 4-D inputs such as TC-ResNet's) and PyTorch do. Per-channel sums are accumulated in Double, row by
/// row (contiguous, so the loops vectorise).
public enum BatchNorm {
    /// What training-mode forward keeps for backward.
    public struct Cache: Sendable {
        public var mean: [Float]
        public var variance: [Float]  // biased
        public var invStd: [Float]
        public var normalized: [Float]  // x̂, N × C
        public let rows: Int
    }

    /// Training mode: normalises with the batch statistics (one thread, one chunk).
    public static func forwardTraining(
        _ x: UnsafePointer<Float>, rows n: Int, channels c: Int, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, epsilon: Float, output y: UnsafeMutablePointer<Float>
    ) -> Cache {
        // One chunk on one thread cannot throw.
        try! forwardTraining(
            x, rows: n, channels: c, gamma: Array(UnsafeBufferPointer(start: gamma, count: c)),
            beta: Array(UnsafeBufferPointer(start: beta, count: c)), epsilon: epsilon, output: y,
            chunks: [0..<n], pool: WorkPool(jobs: 1))
    }

    /// dx, and dγ, dβ accumulated (+=), for training mode (one thread, one chunk):
    /// dx = γ·invStd · (dy − Σdy/N − x̂ · Σ(dy·x̂)/N).
    public static func backward(
        _ cache: Cache, outputGradient dy: UnsafePointer<Float>, channels c: Int, gamma: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>, gammaGradient dg: UnsafeMutablePointer<Float>,
        betaGradient db: UnsafeMutablePointer<Float>
    ) {
        try! backward(
            cache, outputGradient: dy, channels: c, gamma: Array(UnsafeBufferPointer(start: gamma, count: c)),
            inputGradient: dx, gammaGradient: dg, betaGradient: db, chunks: [0..<cache.rows], pool: WorkPool(jobs: 1))
    }

    /// Training-mode forward with the rows split into `chunks` run on `pool`: per-chunk Double sums are
    /// added in chunk order, so the result does not depend on the thread count (only on the chunks).
    public static func forwardTraining(
        _ x: UnsafePointer<Float>, rows n: Int, channels c: Int, gamma: [Float], beta: [Float],
        epsilon: Float, output y: UnsafeMutablePointer<Float>, chunks: [Range<Int>],
        pool: WorkPool
    ) throws -> Cache {
        let xs = SendableConstPointer(x), ys = SendablePointer(y)
        let sums = try pool.map(chunks.count) { k -> [Double] in
            var s = [Double](repeating: 0, count: c)
            for r in chunks[k] {
                let row = xs.base + r * c
                for ch in 0..<c { s[ch] += Double(row[ch]) }
            }
            return s
        }
        var mean = [Double](repeating: 0, count: c)
        for s in sums { for ch in 0..<c { mean[ch] += s[ch] } }
        for ch in 0..<c { mean[ch] /= Double(n) }
        let m = mean
        let squares = try pool.map(chunks.count) { k -> [Double] in
            var q = [Double](repeating: 0, count: c)
            for r in chunks[k] {
                let row = xs.base + r * c
                for ch in 0..<c {
                    let d = Double(row[ch]) - m[ch]
                    q[ch] += d * d
                }
            }
            return q
        }
        var variance = [Double](repeating: 0, count: c)
        for q in squares { for ch in 0..<c { variance[ch] += q[ch] } }
        for ch in 0..<c { variance[ch] /= Double(n) }
        let meanF = mean.map { Float($0) }
        let invStd = variance.map { Float(1 / ($0 + Double(epsilon)).squareRoot()) }
        var xhat = uninitializedFloats(n * c)
        try xhat.withUnsafeMutableBufferPointer { h in
            let hs = SendablePointer(h.baseAddress!)
            try pool.forEach(chunks.count) { k in
                for r in chunks[k] {
                    let row = xs.base + r * c, hr = hs.base + r * c, yr = ys.base + r * c
                    for ch in 0..<c {
                        let v = (row[ch] - meanF[ch]) * invStd[ch]
                        hr[ch] = v
                        yr[ch] = gamma[ch] * v + beta[ch]
                    }
                }
            }
        }
        return Cache(mean: meanF, variance: variance.map { Float($0) }, invStd: invStd, normalized: xhat, rows: n)
    }

    /// `backward` with the rows split into `chunks` run on `pool` (sums added in chunk order).
    public static func backward(
        _ cache: Cache, outputGradient dy: UnsafePointer<Float>, channels c: Int, gamma: [Float],
        inputGradient dx: UnsafeMutablePointer<Float>, gammaGradient dg: UnsafeMutablePointer<Float>,
        betaGradient db: UnsafeMutablePointer<Float>, chunks: [Range<Int>], pool: WorkPool
    ) throws {
        let n = cache.rows, gs = SendableConstPointer(dy), dxs = SendablePointer(dx)
        try cache.normalized.withUnsafeBufferPointer { hp in
            let h = SendableConstPointer(hp.baseAddress!)
            let partial = try pool.map(chunks.count) { k -> [Double] in
                var s = [Double](repeating: 0, count: 2 * c)
                for r in chunks[k] {
                    let g = gs.base + r * c, hr = h.base + r * c
                    for ch in 0..<c {
                        s[ch] += Double(g[ch])
                        s[c + ch] += Double(g[ch]) * Double(hr[ch])
                    }
                }
                return s
            }
            var total = [Double](repeating: 0, count: 2 * c)
            for p in partial { for i in 0..<(2 * c) { total[i] += p[i] } }
            var a = [Float](repeating: 0, count: c), bh = a, k0 = a
            for ch in 0..<c {
                db[ch] += Float(total[ch])
                dg[ch] += Float(total[c + ch])
                let scale = Double(gamma[ch]) * Double(cache.invStd[ch])
                a[ch] = Float(scale)
                bh[ch] = Float(-scale * total[c + ch] / Double(n))
                k0[ch] = Float(-scale * total[ch] / Double(n))
            }
            let (av, bv, kv) = (a, bh, k0)
            try pool.forEach(chunks.count) { k in
                for r in chunks[k] {
                    let g = gs.base + r * c, hr = h.base + r * c, out = dxs.base + r * c
                    for ch in 0..<c { out[ch] = av[ch] * g[ch] + bv[ch] * hr[ch] + kv[ch] }
                }
            }
        }
    }

    /// Inference mode: normalises with the running statistics.
    public static func forwardInference(
        _ x: UnsafePointer<Float>, rows n: Int, channels c: Int, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVariance: UnsafePointer<Float>,
        epsilon: Float, output y: UnsafeMutablePointer<Float>
    ) {
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
    public static func updateRunning(
        _ cache: Cache, momentum: Float, runningMean: UnsafeMutablePointer<Float>,
        runningVariance: UnsafeMutablePointer<Float>, channels c: Int
    ) {
        let n = Float(cache.rows)
        let bessel = n > 1 ? n / (n - 1) : 1
        for ch in 0..<c {
            runningMean[ch] = momentum * runningMean[ch] + (1 - momentum) * cache.mean[ch]
            runningVariance[ch] = momentum * runningVariance[ch] + (1 - momentum) * cache.variance[ch] * bessel
        }
    }
}
