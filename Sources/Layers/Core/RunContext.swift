import Foundation
import Numerics

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
    func sumOverChunks(
        _ count: Int, width: Int,
        _ body: @escaping @Sendable (Range<Int>, UnsafeMutableBufferPointer<Float>) throws -> Void
    ) throws -> [Float] {
        try parallel.sum(count: count, width: width, body)
    }
}
