import Foundation

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
        for i in gradient.indices {
            gradient[i] += g[j]
            j += 1
        }
    }
}
