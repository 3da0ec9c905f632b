import Foundation

extension Op {
    func unary() throws -> TensorValue {
        if node.opType == "Identity" { return try input(0) }
        let (shape, x) = try floats(0)
        let y: [Float]
        switch node.opType {
        case "Relu": y = x.map { $0 > 0 ? $0 : 0 }
        case "Sigmoid": y = x.map { 1 / (1 + Foundation.exp(-$0)) }
        case "Tanh": y = x.map { Foundation.tanh($0) }
        case "Sqrt": y = x.map { $0.squareRoot() }
        case "Log": y = x.map { Foundation.log($0) }
        case "Cos": y = x.map { Foundation.cos($0) }
        case "Sin": y = x.map { Foundation.sin($0) }
        default: throw fail("not a unary operator")
        }
        return TensorValue(shape: shape, floats: y)
    }

    /// The numpy broadcast of two shapes.
    func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
        let n = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: n - a.count) + a, pb = [Int](repeating: 1, count: n - b.count) + b
        return try zip(pa, pb).map { x, y in
            guard x == y || x == 1 || y == 1 else { throw fail("shapes \(a) and \(b) do not broadcast") }
            return x == 1 ? y : x
        }
    }

    /// Cast to float32 (`to` = 1) or int64 (`to` = 7).
    func cast() throws -> TensorValue {
        let x = try input(0)
        switch try int("to", 0) {
        case Int(ONNXDataType.float.rawValue):
            if case let .float(v) = x.storage { return TensorValue(shape: x.shape, floats: v) }
            return TensorValue(shape: x.shape, floats: x.integers!.map { Float($0) })
        case Int(ONNXDataType.int64.rawValue):
            if let ints = x.integers { return TensorValue(shape: x.shape, storage: .int64(ints.map { Int64($0) })) }
            return TensorValue(
                shape: x.shape,
                storage: .int64(
                    try x.floats.map { v in
                        guard v.isFinite, abs(v) < 9e18 else { throw fail("\(v) does not fit int64") }
                        return Int64(v.rounded(.towardZero))
                    }))
        default: throw fail("'to' must be 1 (float) or 7 (int64)")
        }
    }

    /// Add, Sub, Mul and Mod on int64 tensors, with numpy broadcasting (Mod: the divisor's sign, `fmod` 0).
    func integerBinary(_ a: TensorValue, _ b: TensorValue) throws -> TensorValue {
        guard case let .int64(x) = a.storage, case let .int64(y) = b.storage else {
            throw fail("inputs are \(a.elementType.name) and \(b.elementType.name); expected the same type")
        }
        let shape = try broadcast(a.shape, b.shape)
        let n = try count(shape), rank = shape.count
        func strides(_ s: [Int]) -> [Int] { TensorValue.broadcastStrides(s, rank: rank) }
        let sa = strides(a.shape), sb = strides(b.shape), outStrides = TensorValue.strides(shape)
        var out = [Int64](repeating: 0, count: n)
        for o in 0..<n {
            var ia = 0, ib = 0, rest = o
            for d in 0..<rank {
                let i = rest / outStrides[d]
                rest %= outStrides[d]
                ia += i * sa[d]
                ib += i * sb[d]
            }
            let (p, q) = (x[ia], y[ib])
            switch node.opType {
            case "Add": out[o] = p &+ q
            case "Sub": out[o] = p &- q
            case "Mul": out[o] = p &* q
            case "Mod":
                guard q != 0 else { throw fail("division by zero") }
                let r = p % q
                out[o] = r != 0 && (r < 0) != (q < 0) ? r + q : r
            default: throw fail("not an integer operator")
            }
        }
        return TensorValue(shape: shape, storage: .int64(out))
    }

    func binary() throws -> TensorValue {
        if try input(0).elementType == .int64 || node.opType == "Mod" {
            return try integerBinary(try input(0), try input(1))
        }
        let (sa, a) = try floats(0), (sb, b) = try floats(1)
        let f: (Float, Float) -> Float
        switch node.opType {
        case "Add": f = (+)
        case "Sub": f = (-)
        case "Mul": f = (*)
        case "Div": f = (/)
        case "Max": f = { x, y in x.isNaN || y.isNaN ? .nan : Swift.max(x, y) }
        default: throw fail("not a binary operator")
        }
        if sa == sb { return TensorValue(shape: sa, floats: zip(a, b).map(f)) }
        let shape = try broadcast(sa, sb)
        let n = try count(shape)
        if b.count == 1 {
            let v = b[0]
            return TensorValue(shape: shape, floats: a.map { f($0, v) })
        }
        if a.count == 1 {
            let v = a[0]
            return TensorValue(shape: shape, floats: b.map { f(v, $0) })
        }
        var out = [Float](repeating: 0, count: n)
        let rank = shape.count
        func strides(_ s: [Int]) -> [Int] { TensorValue.broadcastStrides(s, rank: rank) }
        let stA = strides(sa), stB = strides(sb)
        let inner = shape.last ?? 1
        let ia = stA.last ?? 0, ib = stB.last ?? 0
        var index = [Int](repeating: 0, count: Swift.max(rank - 1, 0))
        var o = 0
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    while o < n {
                        var offA = 0, offB = 0
                        for d in 0..<index.count {
                            offA += index[d] * stA[d]
                            offB += index[d] * stB[d]
                        }
                        for k in 0..<inner { op[o + k] = f(ap[offA + k * ia], bp[offB + k * ib]) }
                        o += inner
                        TensorValue.advance(&index, in: shape)
                    }
                }
            }
        }
        return TensorValue(shape: shape, floats: out)
    }

    /// The per-axis (or per-tensor) scale and zero point of Q/DQ for a tensor of `shape`.
    private func quantParameters(
        shape: [Int], scaleInput: Int, zeroInput: Int
    ) throws -> (
        scale: [Float], zero: [Int], axis: Int?, type: ONNXDataType
    ) {
        let (scaleShape, scale) = try floats(scaleInput)
        guard !scale.isEmpty, scale.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw fail("the scale must be finite and positive")
        }
        var zero = [Int](repeating: 0, count: scale.count)
        var type = ONNXDataType.uint8
        if let z = optionalInput(zeroInput) {
            guard z.count == scale.count, let ints = z.integers, [.uint8, .int8, .int32].contains(z.elementType) else {
                throw fail("the zero point has \(z.count) \(z.elementType.name) values; expected \(scale.count)")
            }
            zero = ints
            type = z.elementType
        }
        guard scaleShape.count <= 1 else { throw fail("the scale has shape \(scaleShape); expected a scalar or 1-D") }
        if scale.count == 1 && scaleShape.count == 0 { return (scale, zero, nil, type) }
        let a = try axis(try int("axis", 1), rank: shape.count)
        guard shape[a] == scale.count else {
            throw fail("\(scale.count) scales for axis \(a) of \(shape)")
        }
        return (scale, zero, a, type)
    }

    /// QuantizeLinear: saturate(round_half_even(x / scale) + zero_point) to uint8 or int8.
    func quantize() throws -> TensorValue {
        let (shape, x) = try floats(0)
        let q = try quantParameters(shape: shape, scaleInput: 1, zeroInput: 2)
        let (lo, hi): (Float, Float) = q.type == .int8 ? (-128, 127) : (0, 255)
        guard q.type != .int32 else { throw fail("QuantizeLinear to int32 is not supported") }
        let inner = q.axis.map { TensorValue.strides(shape)[$0] } ?? 1, channels = q.scale.count
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let c = q.axis == nil ? 0 : (i / inner) % channels
            let v = (x[i] / q.scale[c]).rounded(.toNearestOrEven) + Float(q.zero[c])
            out[i] = Swift.min(Swift.max(v, lo), hi)
        }
        if q.type == .int8 { return TensorValue(shape: shape, storage: .int8(out.map { Int8($0) })) }
        return TensorValue(shape: shape, storage: .uint8(out.map { UInt8($0) }))
    }

    /// DequantizeLinear: (x − zero_point) · scale, per tensor or per axis.
    func dequantize() throws -> TensorValue {
        let v = try input(0)
        guard let x = v.integers, v.elementType != .int64 else {
            throw fail("input is \(v.elementType.name); expected uint8, int8 or int32")
        }
        var q = try quantParameters(shape: v.shape, scaleInput: 1, zeroInput: 2)
        if optionalInput(2) == nil { q.type = v.elementType }
        guard q.type == v.elementType else {
            throw fail("the zero point is \(q.type.name); the input is \(v.elementType.name)")
        }
        let inner = q.axis.map { TensorValue.strides(v.shape)[$0] } ?? 1, channels = q.scale.count
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let c = q.axis == nil ? 0 : (i / inner) % channels
            out[i] = Float(x[i] - q.zero[c]) * q.scale[c]
        }
        return TensorValue(shape: v.shape, floats: out)
    }
}
