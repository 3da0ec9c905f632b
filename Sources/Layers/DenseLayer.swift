import Foundation
import Numerics

/// Keras Dense: y = act(x W + b) over [B, in] (inputs are flattened per example), W [in, units].
public final class DenseLayer: Layer {
    public let name: String
    public let kernel: Parameter, bias: Parameter
    public let activation: Activation
    public var needsInputGradient = true
    private var input: Tensor?
    private var output: [Float] = []

    public init(name: String, inputs: Int, units: Int, activation: Activation) {
        self.name = name
        self.activation = activation
        kernel = Parameter("\(name).kernel", shape: [inputs, units])
        bias = Parameter("\(name).bias", shape: [units])
    }

    public var parameters: [Parameter] { [kernel, bias] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let b = x.batch, n = kernel.shape[0], u = kernel.shape[1]
        precondition(x.exampleSize == n, "\(name): expected \(n) inputs per example, got \(x.shape)")
        var y = [Float](repeating: 0, count: b * u)
        for i in 0..<b { for j in 0..<u { y[i * u + j] = bias.value[j] } }
        y.withUnsafeMutableBufferPointer { yp in
            BLAS.gemm(m: b, n: u, k: n, a: x.data, lda: n, b: kernel.value, ldb: u, beta: 1, c: yp.baseAddress!, ldc: u)
        }
        activation.apply(&y)
        if context.training {
            input = x
            output = y
        }
        return Tensor(shape: [b, u], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input else { preconditionFailure("\(name): backward without a training forward") }
        let b = x.batch, n = kernel.shape[0], u = kernel.shape[1]
        let g = activation.backward(dy.data, output: output)
        BLAS.gemm(transA: true, m: n, n: u, k: b, a: x.data, lda: n, b: g, ldb: u, beta: 1, c: &kernel.gradient, ldc: u)
        for i in 0..<b { for j in 0..<u { bias.gradient[j] += g[i * u + j] } }
        guard needsInputGradient else { return Tensor(zeros: [0]) }
        var dx = [Float](repeating: 0, count: b * n)
        BLAS.gemm(transB: true, m: b, n: n, k: u, a: g, lda: u, b: kernel.value, ldb: u, c: &dx, ldc: n)
        return Tensor(shape: x.shape, data: dx)
    }
}
