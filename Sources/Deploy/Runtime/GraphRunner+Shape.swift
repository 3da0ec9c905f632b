import Foundation

extension TensorValue.Storage {
    /// The elements at `indices`, in that order.
    func gathered(_ indices: [Int]) -> TensorValue.Storage {
        switch self {
        case let .float(v): return .float(indices.map { v[$0] })
        case let .int64(v): return .int64(indices.map { v[$0] })
        case let .int32(v): return .int32(indices.map { v[$0] })
        case let .int8(v): return .int8(indices.map { v[$0] })
        case let .uint8(v): return .uint8(indices.map { v[$0] })
        }
    }

    var count: Int {
        switch self {
        case let .float(v): return v.count
        case let .int64(v): return v.count
        case let .int32(v): return v.count
        case let .int8(v): return v.count
        case let .uint8(v): return v.count
        }
    }
}

extension Op {
    func transpose() throws -> TensorValue {
        let x = try input(0)
        let rank = x.shape.count
        let perm = try ints("perm") ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else { throw fail("perm \(perm) for rank \(rank)") }
        let outShape = perm.map { x.shape[$0] }
        let inStrides = TensorValue.strides(x.shape)
        let strides = perm.map { inStrides[$0] }
        let n = try count(outShape)
        var indices = [Int](repeating: 0, count: n)
        var index = [Int](repeating: 0, count: rank)
        for o in 0..<n {
            var off = 0
            for d in 0..<rank { off += index[d] * strides[d] }
            indices[o] = off
            TensorValue.advance(&index, in: outShape)
        }
        return TensorValue(shape: outShape, storage: x.storage.gathered(indices))
    }

    func reshape() throws -> TensorValue {
        let x = try input(0)
        let spec = try integers(1)
        guard try int("allowzero", 0) == 0 else { throw fail("allowzero 1 is not supported") }
        var shape = [Int]()
        var inferred: Int?
        for (i, d) in spec.enumerated() {
            if d == 0 {
                guard i < x.shape.count else { throw fail("shape \(spec) copies dimension \(i) of \(x.shape)") }
                shape.append(x.shape[i])
            } else if d == -1 {
                guard inferred == nil else { throw fail("shape \(spec) has two -1") }
                inferred = i
                shape.append(1)
            } else {
                guard d > 0 else { throw fail("shape \(spec) has \(d)") }
                shape.append(d)
            }
        }
        let known = try count(shape)
        if let i = inferred {
            guard known > 0, x.count % known == 0 else { throw fail("\(x.shape) cannot become \(spec)") }
            shape[i] = x.count / known
        }
        guard try count(shape) == x.count else { throw fail("\(x.shape) cannot become \(spec)") }
        return TensorValue(shape: shape, storage: x.storage)
    }

    func unsqueeze() throws -> TensorValue {
        let x = try input(0)
        let rank = x.shape.count + (try integers(1)).count
        let axes = try integers(1).map { try axis($0, rank: rank) }
        guard Set(axes).count == axes.count else { throw fail("repeated axes \(axes)") }
        var shape = x.shape
        for a in axes.sorted() { shape.insert(1, at: a) }
        return TensorValue(shape: shape, storage: x.storage)
    }

    func squeeze() throws -> TensorValue {
        let x = try input(0)
        let axes =
            optionalInput(1) == nil
            ? x.shape.indices.filter { x.shape[$0] == 1 } : try integers(1).map { try axis($0, rank: x.shape.count) }
        var shape = x.shape
        for a in Set(axes).sorted(by: >) {
            guard shape[a] == 1 else { throw fail("axis \(a) of \(x.shape) is not 1") }
            shape.remove(at: a)
        }
        return TensorValue(shape: shape, storage: x.storage)
    }

    func concat() throws -> TensorValue {
        let parts = try inputs.indices.map { try floats($0) }
        guard let first = parts.first else { throw fail("no inputs") }
        let a = try axis(try int("axis", 0), rank: first.shape.count)
        var shape = first.shape
        shape[a] = 0
        for p in parts {
            guard p.shape.count == first.shape.count,
                p.shape.indices.allSatisfy({ $0 == a || p.shape[$0] == first.shape[$0] })
            else { throw fail("shapes \(first.shape) and \(p.shape) do not concatenate on axis \(a)") }
            shape[a] += p.shape[a]
        }
        let n = try count(shape)
        let outer = first.shape[..<a].reduce(1, *), innerOut = shape[a...].reduce(1, *)
        var out = [Float](repeating: 0, count: n)
        var offset = 0
        for p in parts {
            let inner = p.shape[a...].reduce(1, *)
            for o in 0..<outer {
                for k in 0..<inner { out[o * innerOut + offset + k] = p.values[o * inner + k] }
            }
            offset += inner
        }
        return TensorValue(shape: shape, floats: out)
    }

    func slice() throws -> TensorValue {
        let x = try input(0)
        let starts = try integers(1), ends = try integers(2)
        let axes = optionalInput(3) == nil ? Array(0..<starts.count) : try integers(3)
        let steps = optionalInput(4) == nil ? [Int](repeating: 1, count: starts.count) : try integers(4)
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
            throw fail("starts, ends, axes and steps differ in length")
        }
        var lo = [Int](repeating: 0, count: x.shape.count), step = [Int](repeating: 1, count: x.shape.count)
        var shape = x.shape
        for (k, raw) in axes.enumerated() {
            let a = try axis(raw, rank: x.shape.count)
            guard steps[k] == 1 else { throw fail("only step 1 is supported") }
            let dim = x.shape[a]
            func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + dim : v, 0), dim) }
            let s = clamp(starts[k]), e = clamp(ends[k])
            lo[a] = s
            step[a] = 1
            shape[a] = Swift.max(e - s, 0)
        }
        let n = try count(shape)
        let strides = TensorValue.strides(x.shape)
        var indices = [Int](repeating: 0, count: n)
        var index = [Int](repeating: 0, count: shape.count)
        for o in 0..<n {
            var off = 0
            for d in 0..<shape.count { off += (lo[d] + index[d]) * strides[d] }
            indices[o] = off
            TensorValue.advance(&index, in: shape)
        }
        return TensorValue(shape: shape, storage: x.storage.gathered(indices))
    }

    func split() throws -> [TensorValue] {
        let (shape, x) = try floats(0)
        let a = try axis(try int("axis", 0), rank: shape.count)
        let outputs = node.outputs.count
        let sizes: [Int]
        if optionalInput(1) != nil {
            sizes = try integers(1)
        } else {
            guard outputs > 0, shape[a] % outputs == 0 else { throw fail("\(shape[a]) does not split \(outputs) ways") }
            sizes = [Int](repeating: shape[a] / outputs, count: outputs)
        }
        guard sizes.count == outputs, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[a] else {
            throw fail("split \(sizes) of axis \(a) of \(shape) into \(outputs) outputs")
        }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var results: [TensorValue] = []
        var start = 0
        for size in sizes {
            var s = shape
            s[a] = size
            var out = [Float](repeating: 0, count: outer * size * inner)
            for o in 0..<outer {
                let src = (o * shape[a] + start) * inner, dst = o * size * inner
                for k in 0..<(size * inner) { out[dst + k] = x[src + k] }
            }
            results.append(TensorValue(shape: s, floats: out))
            start += size
        }
        return results
    }

    func gather() throws -> TensorValue {
        let x = try input(0)
        let idx = try input(1)
        guard let raw = idx.integers, idx.elementType == .int64 || idx.elementType == .int32 else {
            throw fail("indices are \(idx.elementType.name); expected int64")
        }
        let a = try axis(try int("axis", 0), rank: x.shape.count)
        let dim = x.shape[a]
        let indices = try raw.map { i -> Int in
            guard i >= -dim, i < dim else { throw fail("index \(i) outside axis \(a) of \(x.shape)") }
            return i < 0 ? i + dim : i
        }
        let shape = Array(x.shape[..<a]) + idx.shape + Array(x.shape[(a + 1)...])
        let n = try count(shape)
        let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
        var map = [Int]()
        map.reserveCapacity(n)
        for o in 0..<outer {
            for i in indices {
                let base = (o * dim + i) * inner
                for k in 0..<inner { map.append(base + k) }
            }
        }
        return TensorValue(shape: shape, storage: x.storage.gathered(map))
    }

    /// Pad with `constant` (value from input 2, default 0) or `reflect` (numpy's: the edge is not repeated).
    func pad() throws -> TensorValue {
        let (shape, x) = try floats(0)
        let pads = try integers(1)
        let rank = shape.count
        guard pads.count == 2 * rank, pads.allSatisfy({ $0 >= 0 }) else {
            throw fail("pads \(pads) for rank \(rank); expected \(2 * rank) non-negative values")
        }
        let mode = try string("mode", "constant")
        let value = optionalInput(2) == nil ? 0 : (try floats(2)).values.first ?? 0
        let outShape = (0..<rank).map { shape[$0] + pads[$0] + pads[rank + $0] }
        let n = try count(outShape)
        if mode == "reflect" {
            for d in 0..<rank where pads[d] >= shape[d] || pads[rank + d] >= shape[d] {
                throw fail("reflection by \(pads[d])/\(pads[rank + d]) of an axis of \(shape[d])")
            }
        } else if mode != "constant" {
            throw fail("mode '\(mode)'; expected constant or reflect")
        }
        let strides = TensorValue.strides(shape)
        var out = [Float](repeating: 0, count: n)
        var index = [Int](repeating: 0, count: rank)
        for o in 0..<n {
            var off = 0
            var inside = true
            for d in 0..<rank {
                var i = index[d] - pads[d]
                if i < 0 || i >= shape[d] {
                    if mode == "constant" {
                        inside = false
                        break
                    }
                    i = i < 0 ? -i : 2 * (shape[d] - 1) - i
                }
                off += i * strides[d]
            }
            out[o] = inside ? x[off] : value
            TensorValue.advance(&index, in: outShape)
        }
        return TensorValue(shape: outShape, floats: out)
    }
}
