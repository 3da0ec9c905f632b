import Foundation
import TKDCore

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

    /// Training-mode forward with the rows split into `chunks` run on `pool`: per-chunk Double sums are
    /// added in chunk order, so the result does not depend on the thread count (only on the chunks).
    public static func forwardTraining(_ x: UnsafePointer<Float>, rows n: Int, channels c: Int, gamma: [Float], beta: [Float],
                                       epsilon: Float, output y: UnsafeMutablePointer<Float>, chunks: [Range<Int>],
                                       pool: WorkPool) throws -> Cache {
        let xs = ReadOnly(x), ys = Writable(y)
        let sums = try pool.map(chunks.count) { k -> [Double] in
            var s = [Double](repeating: 0, count: c)
            for r in chunks[k] { let row = xs.p + r * c; for ch in 0..<c { s[ch] += Double(row[ch]) } }
            return s
        }
        var mean = [Double](repeating: 0, count: c)
        for s in sums { for ch in 0..<c { mean[ch] += s[ch] } }
        for ch in 0..<c { mean[ch] /= Double(n) }
        let m = mean
        let squares = try pool.map(chunks.count) { k -> [Double] in
            var q = [Double](repeating: 0, count: c)
            for r in chunks[k] { let row = xs.p + r * c; for ch in 0..<c { let d = Double(row[ch]) - m[ch]; q[ch] += d * d } }
            return q
        }
        var variance = [Double](repeating: 0, count: c)
        for q in squares { for ch in 0..<c { variance[ch] += q[ch] } }
        for ch in 0..<c { variance[ch] /= Double(n) }
        let meanF = mean.map { Float($0) }
        let invStd = variance.map { Float(1 / ($0 + Double(epsilon)).squareRoot()) }
        var xhat = uninitializedFloats(n * c)
        try xhat.withUnsafeMutableBufferPointer { h in
            let hs = Writable(h.baseAddress!)
            try pool.forEach(chunks.count) { k in
                for r in chunks[k] {
                    let row = xs.p + r * c, hr = hs.p + r * c, yr = ys.p + r * c
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
    public static func backward(_ cache: Cache, outputGradient dy: UnsafePointer<Float>, channels c: Int, gamma: [Float],
                                inputGradient dx: UnsafeMutablePointer<Float>, gammaGradient dg: UnsafeMutablePointer<Float>,
                                betaGradient db: UnsafeMutablePointer<Float>, chunks: [Range<Int>], pool: WorkPool) throws {
        let n = cache.rows, gs = ReadOnly(dy), dxs = Writable(dx)
        try cache.normalized.withUnsafeBufferPointer { hp in
            let h = ReadOnly(hp.baseAddress!)
            let partial = try pool.map(chunks.count) { k -> [Double] in
                var s = [Double](repeating: 0, count: 2 * c)
                for r in chunks[k] {
                    let g = gs.p + r * c, hr = h.p + r * c
                    for ch in 0..<c { s[ch] += Double(g[ch]); s[c + ch] += Double(g[ch]) * Double(hr[ch]) }
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
                    let g = gs.p + r * c, hr = h.p + r * c, out = dxs.p + r * c
                    for ch in 0..<c { out[ch] = av[ch] * g[ch] + bv[ch] * hr[ch] + kv[ch] }
                }
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

/// Pointers handed to worker threads that touch disjoint rows.
struct ReadOnly: @unchecked Sendable { let p: UnsafePointer<Float>; init(_ p: UnsafePointer<Float>) { self.p = p } }
struct Writable: @unchecked Sendable { let p: UnsafeMutablePointer<Float>; init(_ p: UnsafeMutablePointer<Float>) { self.p = p } }
