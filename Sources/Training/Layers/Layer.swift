import DatasetFormat
import Foundation
import Numerics
import TKDCore

/// A batch-first float32 tensor: `shape[0]` is the batch, the rest is the per-example shape
/// (sequences [B, T, F]; 2-D maps [B, T, F, C], channels last, time first).
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "tensor shape \(shape) does not match \(data.count) values")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) { self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *))) }

    public var batch: Int { shape[0] }
    /// Values per example.
    public var exampleSize: Int { shape.dropFirst().reduce(1, *) }
}

/// A named tensor of a model: trainable weights (with their gradient) or non-trainable state such as
/// batch-norm moving statistics. Names follow the student's layer list (`l{i}.kernel`, …) and are the
/// keys of checkpoints and of the PyTorch parity fixtures.
public final class Parameter: @unchecked Sendable {
    public let name: String
    public let shape: [Int]
    public let trainable: Bool
    public var value: [Float]
    public var gradient: [Float]

    public init(_ name: String, shape: [Int], trainable: Bool = true, fill: Float = 0) {
        self.name = name
        self.shape = shape
        self.trainable = trainable
        let n = shape.reduce(1, *)
        value = [Float](repeating: fill, count: n)
        gradient = trainable ? [Float](repeating: 0, count: n) : []
    }

    public var count: Int { value.count }

    public func zeroGradient() {
        guard trainable else { return }
        for i in gradient.indices { gradient[i] = 0 }
    }

    /// Adds `g` (same size) into the gradient.
    func accumulate(_ g: ArraySlice<Float>) {
        precondition(g.count == gradient.count)
        var j = g.startIndex
        for i in gradient.indices { gradient[i] += g[j]; j += 1 }
    }
}

/// Training (batch statistics, dropout on, caches kept for backward) or inference.
public enum Mode: Sendable, Equatable { case training, inference }

/// What a forward or backward pass runs with.
///
/// Heavy layers split the batch into chunks of `parallel.chunkSize` examples (a constant, never a
/// function of the thread count), run the chunks on `parallel.pool`, and sum per-chunk weight gradients
/// in chunk order, so every float is the same bytes for any `--jobs`.
public struct RunContext: Sendable {
    public var mode: Mode
    public var parallel: FixedOrderReduction
    /// Keys dropout masks: (seed, step) plus the layer's name.
    public var seed: UInt64
    public var step: Int
    /// Dropout is applied in training mode unless switched off (the parity tests switch it off).
    public var dropout: Bool

    public init(mode: Mode, jobs: Int = 1, chunkSize: Int = 25, seed: UInt64 = 0, step: Int = 0, dropout: Bool = true) {
        self.mode = mode
        parallel = FixedOrderReduction(jobs: jobs, chunkSize: chunkSize)
        self.seed = seed
        self.step = step
        self.dropout = dropout
    }

    public var training: Bool { mode == .training }

    /// The example ranges of a batch of `count`, in order.
    func chunks(_ count: Int) -> [Range<Int>] {
        let size = parallel.chunkSize
        return stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
    }

    /// Runs `body` on every chunk of the batch (in parallel; each chunk writes only its own rows).
    func forEachChunk(_ count: Int, _ body: @escaping @Sendable (Int, Range<Int>) throws -> Void) throws {
        let ranges = chunks(count)
        try parallel.pool.forEach(ranges.count) { c in try body(c, ranges[c]) }
    }

    /// Runs `body` on every chunk with a zeroed accumulator of `width` floats and returns the
    /// accumulators summed in chunk order.
    func sumOverChunks(_ count: Int, width: Int,
                       _ body: @escaping @Sendable (Range<Int>, UnsafeMutableBufferPointer<Float>) throws -> Void) throws -> [Float] {
        try parallel.sum(count: count, width: width, body)
    }
}

/// A runtime layer with forward and backward passes over a whole batch.
///
/// `forward` in training mode keeps what `backward` needs; `backward` takes dLoss/dOutput, adds the
/// parameter gradients into `Parameter.gradient` and returns dLoss/dInput (or an empty tensor when
/// `needsInputGradient` is false, as for the first layer).
public protocol Layer: AnyObject {
    var name: String { get }
    /// Trainable parameters and state, in checkpoint order.
    var parameters: [Parameter] { get }
    var needsInputGradient: Bool { get set }
    func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor
    func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor
}

/// Elementwise activations fused into convolutions and dense layers.
public enum Activation: String, Sendable, Codable { case linear, relu }

extension Activation {
    init(_ spec: LayerSpec.Activation) { self = spec == .relu ? .relu : .linear }

    func apply(_ y: inout [Float]) {
        guard self == .relu else { return }
        y.withUnsafeMutableBufferPointer { Vector.relu($0.baseAddress!, count: $0.count) }
    }

    /// dy ⊙ f′, given the activation's output y.
    func backward(_ dy: [Float], output y: [Float]) -> [Float] {
        guard self == .relu else { return dy }
        var g = dy
        g.withUnsafeMutableBufferPointer { gp in
            y.withUnsafeBufferPointer { Vector.reluMask(gp.baseAddress!, output: $0.baseAddress!, count: gp.count) }
        }
        return g
    }
}
