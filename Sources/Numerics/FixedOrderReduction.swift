import Foundation
import TKDCore

/// Data-parallel work over a batch with a reduction whose order never depends on the thread count.
///
/// The batch is cut into chunks of a fixed size (not a function of `--jobs`); each chunk fills its
/// own accumulator on the work pool; the accumulators are then summed in chunk order. Float sums are
/// therefore the same bytes with 1, 2 or 16 threads.
public struct FixedOrderReduction: Sendable {
    public let pool: WorkPool
    /// Examples per chunk.
    public let chunkSize: Int

    public init(jobs: Int, chunkSize: Int = 8) {
        precondition(chunkSize >= 1, "chunk size must be positive")
        pool = WorkPool(jobs: jobs)
        self.chunkSize = chunkSize
    }

    /// Runs `body(range, accumulator)` for each chunk of `0..<count` (accumulators start at zero, `width`
    /// floats each) and returns their sum, added in chunk order.
    public func sum(
        count: Int, width: Int,
        _ body: @escaping @Sendable (Range<Int>, UnsafeMutableBufferPointer<Float>) throws -> Void
    ) throws -> [Float] {
        let chunks = (count + chunkSize - 1) / chunkSize
        let size = chunkSize
        let partials = try pool.map(chunks) { c -> [Float] in
            var acc = [Float](repeating: 0, count: width)
            try acc.withUnsafeMutableBufferPointer { try body((c * size)..<min(count, (c + 1) * size), $0) }
            return acc
        }
        var total = [Float](repeating: 0, count: width)
        for p in partials { for i in 0..<width { total[i] += p[i] } }
        return total
    }
}
