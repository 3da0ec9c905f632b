import Foundation

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
