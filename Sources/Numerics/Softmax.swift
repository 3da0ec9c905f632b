import Foundation

/// Row-wise softmax and log-softmax, stabilised by subtracting each row's maximum; sums in Double.
public enum Softmax {
    /// max(row) and log Σ exp(row − max), the stable pieces of both functions.
    @inline(__always)
    static func shiftAndLogSum(_ row: UnsafePointer<Float>, _ width: Int) -> (top: Float, logSum: Double) {
        var top = -Float.infinity
        for i in 0..<width { top = max(top, row[i]) }
        var sum = 0.0
        for i in 0..<width { sum += exp(Double(row[i] - top)) }
        return (top, log(sum))
    }

    /// y[r, :] = softmax(x[r, :]) for `rows` rows of `width`.
    public static func forward(_ x: UnsafePointer<Float>, rows: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            let (top, logSum) = shiftAndLogSum(xr, width)
            for i in 0..<width { yr[i] = Float(exp(Double(xr[i] - top) - logSum)) }
        }
    }

    /// y[r, :] = softmax(x[r, :]) with `fastExp` eight lanes at a time and Float sums (relative error a few
    /// 1e-7): the transformer attention maps, where `forward`'s Double exp dominated the time.
    public static func forwardFast(
        _ x: UnsafePointer<Float>, rows: Int, width n: Int, into y: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let xr = x + r * n, yr = y + r * n
            var top = -Float.infinity
            for i in 0..<n { top = max(top, xr[i]) }
            var k = 0, acc = SIMD8<Float>(repeating: 0)
            while k + 8 <= n {
                let e = fastExp(Vector.load(xr + k) - top)
                Vector.store(e, yr + k)
                acc += e
                k += 8
            }
            var sum = acc.sum()
            while k < n {
                let e = fastExp(xr[k] - top)
                yr[k] = e
                sum += e
                k += 1
            }
            let inv = 1 / sum
            k = 0
            while k + 8 <= n {
                Vector.store(Vector.load(yr + k) * inv, yr + k)
                k += 8
            }
            while k < n {
                yr[k] *= inv
                k += 1
            }
        }
    }

    /// y[r, :] = log softmax(x[r, :]).
    public static func logForward(_ x: UnsafePointer<Float>, rows: Int, width: Int, into y: UnsafeMutablePointer<Float>)
    {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            let (top, logSum) = shiftAndLogSum(xr, width)
            for i in 0..<width { yr[i] = Float(Double(xr[i] - top) - logSum) }
        }
    }

    /// dx = y ⊙ (dy − Σ y·dy) per row, given the softmax output y.
    public static func backward(
        output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, rows: Int, width: Int,
        into dx: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let o = r * width
            var dot = 0.0
            for i in 0..<width { dot += Double(y[o + i]) * Double(dy[o + i]) }
            for i in 0..<width { dx[o + i] = y[o + i] * (dy[o + i] - Float(dot)) }
        }
    }
}
