import Foundation

/// Row-wise softmax and log-softmax, stabilised by subtracting each row's maximum; sums in Double.
public enum Softmax {
    /// y[r, :] = softmax(x[r, :]) for `rows` rows of `width`.
    public static func forward(_ x: UnsafePointer<Float>, rows: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            var top = -Float.infinity
            for i in 0..<width { top = max(top, xr[i]) }
            var sum = 0.0
            for i in 0..<width { let e = exp(Double(xr[i] - top)); yr[i] = Float(e); sum += e }
            let inv = Float(1 / sum)
            for i in 0..<width { yr[i] *= inv }
        }
    }

    /// y[r, :] = log softmax(x[r, :]).
    public static func logForward(_ x: UnsafePointer<Float>, rows: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            var top = -Float.infinity
            for i in 0..<width { top = max(top, xr[i]) }
            var sum = 0.0
            for i in 0..<width { sum += exp(Double(xr[i] - top)) }
            let lse = Double(top) + log(sum)
            for i in 0..<width { yr[i] = Float(Double(xr[i]) - lse) }
        }
    }

    /// dx = y ⊙ (dy − Σ y·dy) per row, given the softmax output y.
    public static func backward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, rows: Int, width: Int,
                                into dx: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let o = r * width
            var dot = 0.0
            for i in 0..<width { dot += Double(y[o + i]) * Double(dy[o + i]) }
            for i in 0..<width { dx[o + i] = y[o + i] * (dy[o + i] - Float(dot)) }
        }
    }
}
