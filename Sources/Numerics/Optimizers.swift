import Foundation

/// Learning-rate schedules (Docs/students.md §3).
public enum LearningRateSchedule: Sendable, Equatable, Codable {
    case constant(Double)
    /// kws_streaming's "exp": lr(s) = lr0 · exp(−s · ln(lr0 / lrLast) / steps), s = 1…steps.
    case exponential(initial: Double, final: Double, steps: Int)
    /// Linear warm-up from 0 over `warmup` steps, then cosine decay to `final` at `steps`.
    case warmupCosine(peak: Double, final: Double, warmup: Int, steps: Int)

    /// The rate at step `s` (1-based, as kws_streaming counts).
    public func rate(step s: Int) -> Double {
        switch self {
        case let .constant(lr):
            return lr
        case let .exponential(lr0, last, steps):
            return lr0 * exp(-Double(s) * log(lr0 / last) / Double(steps))
        case let .warmupCosine(peak, last, warmup, steps):
            if s <= warmup { return peak * Double(s) / Double(max(warmup, 1)) }
            let progress = min(1, Double(s - warmup) / Double(max(steps - warmup, 1)))
            return last + 0.5 * (peak - last) * (1 + cos(Double.pi * progress))
        }
    }
}

/// Scales gradients so that their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGlobalNorm(_ gradients: [UnsafeMutableBufferPointer<Float>], maxNorm: Float) -> Float {
    var sum = 0.0
    for g in gradients { for v in g { sum += Double(v) * Double(v) } }
    let norm = Float(sum.squareRoot())
    if norm > maxNorm && norm > 0 {
        let scale = maxNorm / norm
        for g in gradients { for i in g.indices { g[i] *= scale } }
    }
    return norm
}

/// Adam, Keras formulation (kws_streaming's optimizer): with t the 1-based step,
/// lr_t = lr · sqrt(1 − β2ᵗ) / (1 − β1ᵗ), m ← β1 m + (1 − β1) g, v ← β2 v + (1 − β2) g²,
/// p ← p − lr_t · m / (sqrt(v) + ε). (PyTorch puts ε inside the bias correction:
/// p − lr · m̂ / (sqrt(v̂) + ε).)
public struct Adam: Sendable {
    public var beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    /// Updates made so far (t of the bias correction); with `m` and `v` the whole state, for checkpoints.
    public var step = 0
    /// First and second moment estimates, one array per parameter tensor (empty before the first update).
    public var m: [[Float]] = [], v: [[Float]] = []

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// One update of every parameter tensor with its gradient, at learning rate `lr`.
    public mutating func update(
        _ parameters: [UnsafeMutableBufferPointer<Float>], gradients: [UnsafeBufferPointer<Float>], lr: Double
    ) {
        let lrT = begin(counts: parameters.map(\.count), lr: lr)
        for (k, (p, g)) in zip(parameters, gradients).enumerated() { apply(tensor: k, p, g, rate: lrT) }
    }

    /// Starts an update of tensors with `counts` elements (allocating the state on the first one):
    /// advances t and returns lr_t for `apply`.
    public mutating func begin(counts: [Int], lr: Double) -> Float {
        if m.isEmpty {
            m = counts.map { [Float](repeating: 0, count: $0) }
            v = m
        }
        precondition(m.map(\.count) == counts, "Adam state does not match the parameter tensors")
        step += 1
        let t = Double(step)
        return Float(lr * (1 - pow(Double(beta2), t)).squareRoot() / (1 - pow(Double(beta1), t)))
    }

    /// Updates tensor k of the current step with its gradient.
    public mutating func apply(
        tensor k: Int, _ p: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>, rate lrT: Float
    ) {
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        m[k].withUnsafeMutableBufferPointer { mk in
            v[k].withUnsafeMutableBufferPointer { vk in
                for i in 0..<p.count {
                    mk[i] = b1 * mk[i] + (1 - b1) * g[i]
                    vk[i] = b2 * vk[i] + (1 - b2) * g[i] * g[i]
                    p[i] -= lrT * mk[i] / (vk[i].squareRoot() + eps)
                }
            }
        }
    }
}

/// SGD with momentum, Keras formulation (TC-ResNet's optimizer): velocity ← μ·velocity − lr·g;
/// p ← p + velocity.
public struct MomentumSGD: Sendable {
    public var momentum: Float
    /// One array per parameter tensor (empty before the first update): the state, for checkpoints.
    public var velocity: [[Float]] = []

    public init(momentum: Float = 0.9) { self.momentum = momentum }

    public mutating func update(
        _ parameters: [UnsafeMutableBufferPointer<Float>], gradients: [UnsafeBufferPointer<Float>], lr: Double
    ) {
        begin(counts: parameters.map(\.count))
        for (k, (p, g)) in zip(parameters, gradients).enumerated() { apply(tensor: k, p, g, lr: lr) }
    }

    /// Allocates the state for tensors with `counts` elements on the first update.
    public mutating func begin(counts: [Int]) {
        if velocity.isEmpty { velocity = counts.map { [Float](repeating: 0, count: $0) } }
        precondition(velocity.map(\.count) == counts, "momentum state does not match the parameter tensors")
    }

    /// Updates tensor k with its gradient at learning rate `lr`.
    public mutating func apply(
        tensor k: Int, _ p: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>, lr: Double
    ) {
        let rate = Float(lr), mu = momentum
        velocity[k].withUnsafeMutableBufferPointer { vk in
            for i in 0..<p.count {
                vk[i] = mu * vk[i] - rate * g[i]
                p[i] += vk[i]
            }
        }
    }
}
