import Foundation
import Numerics

/// Elementwise activations fused into convolutions and dense layers.
public enum Activation: String, Sendable, Codable { case linear, relu }

extension Activation {

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
