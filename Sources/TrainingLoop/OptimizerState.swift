import Foundation
import Layers
import Numerics
import TensorStore

/// Which optimiser a run uses (a training config's `optimizer`).
public enum OptimizerConfig: Sendable, Equatable, Codable {
    case adam(epsilon: Float)
    case momentum(Float)
}

/// The optimiser and its state.
public enum OptimizerState: Sendable {
    case adam(Adam)
    case momentum(MomentumSGD)

    public init(_ config: OptimizerConfig) {
        switch config {
        case let .adam(eps): self = .adam(Adam(epsilon: eps))
        case let .momentum(mu): self = .momentum(MomentumSGD(momentum: mu))
        }
    }

    public var kind: String { if case .adam = self { return "adam" } else { return "momentum" } }

    /// One update of `parameters` with their gradients at learning rate `lr`.
    public mutating func update(_ parameters: [Parameter], lr: Double) {
        let counts = parameters.map(\.count)
        switch self {
        case var .adam(a):
            let rate = a.begin(counts: counts, lr: lr)
            for (k, p) in parameters.enumerated() {
                let g = p.gradient
                p.value.withUnsafeMutableBufferPointer { v in
                    g.withUnsafeBufferPointer { a.apply(tensor: k, v, $0, rate: rate) }
                }
            }
            self = .adam(a)
        case var .momentum(s):
            s.begin(counts: counts)
            for (k, p) in parameters.enumerated() {
                let g = p.gradient
                p.value.withUnsafeMutableBufferPointer { v in
                    g.withUnsafeBufferPointer { s.apply(tensor: k, v, $0, lr: lr) }
                }
            }
            self = .momentum(s)
        }
    }

    /// State tensors keyed `optimizer.<slot>.<parameter>` (nothing before the first update).
    public func tensors(_ parameters: [Parameter]) -> [SafeTensors.Tensor] {
        let slots: [(String, [[Float]])]
        switch self {
        case let .adam(a): slots = [("m", a.m), ("v", a.v)]
        case let .momentum(s): slots = [("velocity", s.velocity)]
        }
        return slots.flatMap { slot, arrays in
            arrays.isEmpty
                ? []
                : zip(parameters, arrays).map { p, values in
                    SafeTensors.Tensor(name: "optimizer.\(slot).\(p.name)", shape: p.shape, values: values)
                }
        }
    }

    /// Restores the state written by `tensors` (Adam's t is the checkpoint's step).
    public mutating func restore(from file: SafeTensorsFile, parameters: [Parameter], step: Int) throws {
        func slot(_ name: String) throws -> [[Float]] {
            guard step > 0 else { return [] }
            return try parameters.map { p in
                let key = "optimizer.\(name).\(p.name)"
                guard file.entries[key]?.shape == p.shape else {
                    throw TrainingLoopError.checkpoint(
                        path: file.path, reason: "optimizer state '\(key)' is missing or has the wrong shape")
                }
                return try file.values(key)
            }
        }
        switch self {
        case var .adam(a):
            a.m = try slot("m")
            a.v = try slot("v")
            a.step = step
            self = .adam(a)
        case var .momentum(s):
            s.velocity = try slot("velocity")
            self = .momentum(s)
        }
    }
}
