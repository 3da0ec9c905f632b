import Foundation

/// A tensor flowing through `GraphRunner`: a shape and row-major values of one element type.
public struct TensorValue: Sendable, Equatable {
    public enum Storage: Sendable, Equatable {
        case float([Float])
        case int64([Int64])
        case int32([Int32])
        case int8([Int8])
        case uint8([UInt8])
    }

    public var shape: [Int]
    public var storage: Storage

    public init(shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count, "shape \(shape) for \(floats.count) values")
        self.shape = shape
        storage = .float(floats)
    }

    public init(shape: [Int], storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    public var count: Int { shape.reduce(1, *) }

    public var elementType: ONNXDataType {
        switch storage {
        case .float: return .float
        case .int64: return .int64
        case .int32: return .int32
        case .int8: return .int8
        case .uint8: return .uint8
        }
    }

    /// The float values (empty for other types).
    public var floats: [Float] {
        if case let .float(v) = storage { return v }
        return []
    }

    /// Integer values of an int64 / int32 / int8 / uint8 tensor as Int.
    var integers: [Int]? {
        switch storage {
        case let .int64(v): return v.map { Int(truncatingIfNeeded: $0) }
        case let .int32(v): return v.map { Int($0) }
        case let .int8(v): return v.map { Int($0) }
        case let .uint8(v): return v.map { Int($0) }
        case .float: return nil
        }
    }

    init(_ t: ONNXTensor) {
        shape = t.dims
        switch t.dataType {
        case .float: storage = .float(t.floats)
        case .int64: storage = .int64(t.int64s)
        case .int32: storage = .int32(t.int32s)
        case .int8: storage = .int8(t.raw.map { Int8(bitPattern: $0) })
        case .uint8: storage = .uint8(t.raw)
        }
    }

    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Strides of `shape` read as `rank` dimensions (leading ones added) for numpy broadcasting: 0 along every
    /// dimension of size 1, so that one element serves the whole axis.
    static func broadcastStrides(_ shape: [Int], rank: Int) -> [Int] {
        let padded = [Int](repeating: 1, count: rank - shape.count) + shape
        let dense = strides(padded)
        return (0..<rank).map { padded[$0] == 1 ? 0 : dense[$0] }
    }

    /// Steps a row-major multi-index over `shape` to the next element (the last axis fastest).
    @inline(__always)
    static func advance(_ index: inout [Int], in shape: [Int]) {
        var d = index.count - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < shape[d] { return }
            index[d] = 0
            d -= 1
        }
    }
}
