import Foundation
import Numerics

/// TC-ResNet's residual block over [B, T, 1, C] (Docs/students.md §6): conv(k×1, stride s) → BN → ReLU →
/// conv(k×1) → BN, plus the shortcut — identity, or conv 1×1 stride s → BN → ReLU when the channel
/// count changes — then ReLU.
public final class ResidualBlockLayer: Layer {
    public let name: String
    public let conv1: ConvLayer, bn1: BatchNormLayer, relu1: ActivationLayer, conv2: ConvLayer, bn2: BatchNormLayer
    /// The projection shortcut (when the channels change); nil for the identity.
    public let shortcut: (conv: ConvLayer, bn: BatchNormLayer, relu: ActivationLayer)?
    public var needsInputGradient = true
    private var output: [Float] = []

    public init(name: String, inChannels: Int, filters: Int, kernel: Int, stride: Int, momentum: Float) {
        self.name = name
        conv1 = ConvLayer(
            name: "\(name).conv1", inChannels: inChannels, filters: filters, kernel: (kernel, 1),
            stride: (stride, 1), padding: .same, activation: .linear)
        bn1 = BatchNormLayer(name: "\(name).bn1", channels: filters, momentum: momentum)
        relu1 = ActivationLayer(name: "\(name).relu1", activation: .relu)
        conv2 = ConvLayer(
            name: "\(name).conv2", inChannels: filters, filters: filters, kernel: (kernel, 1),
            padding: .same, activation: .linear)
        bn2 = BatchNormLayer(name: "\(name).bn2", channels: filters, momentum: momentum)
        if inChannels != filters {
            shortcut = (
                ConvLayer(
                    name: "\(name).shortcut", inChannels: inChannels, filters: filters, kernel: (1, 1),
                    stride: (stride, 1), padding: .same, activation: .linear),
                BatchNormLayer(name: "\(name).shortcut_bn", channels: filters, momentum: momentum),
                ActivationLayer(name: "\(name).shortcut_relu", activation: .relu)
            )
        } else {
            shortcut = nil
        }
    }

    var main: [Layer] { [conv1, bn1, relu1, conv2, bn2] }

    public var parameters: [Parameter] {
        main.flatMap(\.parameters) + (shortcut.map { $0.conv.parameters + $0.bn.parameters } ?? [])
    }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        var y = x
        for l in main { y = try l.forward(y, context) }
        var s = x
        if let shortcut {
            for l in [shortcut.conv, shortcut.bn, shortcut.relu] as [Layer] { s = try l.forward(s, context) }
        }
        y.data.withUnsafeMutableBufferPointer { yp in
            s.data.withUnsafeBufferPointer { Vector.add($0.baseAddress!, into: yp.baseAddress!, count: yp.count) }
            Vector.relu(yp.baseAddress!, count: yp.count)
        }
        if context.training { output = y.data }
        return y
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        var g = dy
        g.data.withUnsafeMutableBufferPointer { gp in
            output.withUnsafeBufferPointer {
                Vector.reluMask(gp.baseAddress!, output: $0.baseAddress!, count: gp.count)
            }
        }
        var dMain = g
        for l in main.reversed() { dMain = try l.backward(dMain, context) }
        var dShort = g
        if let shortcut {
            for l in [shortcut.relu, shortcut.bn, shortcut.conv] as [Layer] { dShort = try l.backward(dShort, context) }
        }
        dMain.data.withUnsafeMutableBufferPointer { d in
            dShort.data.withUnsafeBufferPointer { Vector.add($0.baseAddress!, into: d.baseAddress!, count: d.count) }
        }
        return dMain
    }
}
