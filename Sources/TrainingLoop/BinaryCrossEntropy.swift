import Foundation

/// Binary cross-entropy on logits, the multi-label classification loss (one sigmoid per class), as PyTorch's
/// `binary_cross_entropy_with_logits` with its default mean over every (example, class) element.
public enum BinaryCrossEntropy {
    /// Loss and dLoss/dz for logits z and targets y in [0, 1] (row-major, any shape, the same count).
    /// Each element's loss is max(z, 0) − z·y + log(1 + e^(−|z|)), exact for any |z| (no log of a
    /// sigmoid that underflows); the gradient is (σ(z) − y) / n.
    public static func withLogits(_ z: [Float], targets y: [Float]) -> (loss: Double, gradient: [Float]) {
        precondition(z.count == y.count && !z.isEmpty, "logits and targets of \(z.count) and \(y.count) values")
        let n = Double(z.count)
        var sum = 0.0
        var gradient = [Float](repeating: 0, count: z.count)
        for i in z.indices {
            let x = Double(z[i]), t = Double(y[i])
            sum += max(x, 0) - x * t + log1p(exp(-abs(x)))
            let sigmoid = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
            gradient[i] = Float((sigmoid - t) / n)
        }
        return (sum / n, gradient)
    }
}
