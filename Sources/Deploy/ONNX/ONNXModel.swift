import Foundation

/// ONNX element types (`TensorProto.DataType`) that tkd's graphs use.
public enum ONNXDataType: Int32, Sendable, Equatable {
    case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float, .int32: return 4
        case .uint8, .int8: return 1
        case .int64: return 8
        }
    }

    public var name: String {
        switch self {
        case .float: return "float32"
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .int32: return "int32"
        case .int64: return "int64"
        }
    }
}

/// A tensor constant (`TensorProto`): name, type, dims and little-endian raw bytes.
public struct ONNXTensor: Sendable, Equatable {
    public var name: String
    public var dataType: ONNXDataType
    public var dims: [Int]
    public var raw: [UInt8]

    public init(name: String, dataType: ONNXDataType, dims: [Int], raw: [UInt8]) {
        self.name = name
        self.dataType = dataType
        self.dims = dims
        self.raw = raw
    }

    /// Each value's bytes, least significant first (ONNX's `raw_data` is little-endian).
    static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity(values.count * T.bitWidth / 8)
        for v in values {
            for k in 0..<(T.bitWidth / 8) { raw.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
        }
        return raw
    }

    public init(name: String, floats: [Float], dims: [Int]) {
        precondition(dims.reduce(1, *) == floats.count, "\(name): \(floats.count) values for dims \(dims)")
        self.init(name: name, dataType: .float, dims: dims, raw: Self.littleEndian(floats.map(\.bitPattern)))
    }

    public init(name: String, int64s: [Int64], dims: [Int]) {
        precondition(dims.reduce(1, *) == int64s.count, "\(name): \(int64s.count) values for dims \(dims)")
        self.init(name: name, dataType: .int64, dims: dims, raw: Self.littleEndian(int64s))
    }

    public init(name: String, int32s: [Int32], dims: [Int]) {
        precondition(dims.reduce(1, *) == int32s.count, "\(name): \(int32s.count) values for dims \(dims)")
        self.init(name: name, dataType: .int32, dims: dims, raw: Self.littleEndian(int32s))
    }

    public init(name: String, int8s: [Int8], dims: [Int]) {
        self.init(name: name, dataType: .int8, dims: dims, raw: int8s.map { UInt8(bitPattern: $0) })
    }

    public init(name: String, uint8s: [UInt8], dims: [Int]) {
        self.init(name: name, dataType: .uint8, dims: dims, raw: uint8s)
    }

    public var count: Int { dims.reduce(1, *) }

    public var floats: [Float] {
        guard dataType == .float else { return [] }
        return stride(from: 0, to: raw.count, by: 4).map { i in
            Float(
                bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16
                    | UInt32(raw[i + 3]) << 24)
        }
    }

    public var int64s: [Int64] {
        guard dataType == .int64 else { return [] }
        return stride(from: 0, to: raw.count, by: 8).map { i in
            var u: UInt64 = 0
            for k in 0..<8 { u |= UInt64(raw[i + k]) << (8 * UInt64(k)) }
            return Int64(bitPattern: u)
        }
    }

    public var int32s: [Int32] {
        guard dataType == .int32 else { return [] }
        return stride(from: 0, to: raw.count, by: 4).map { i in
            Int32(
                bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16
                    | UInt32(raw[i + 3]) << 24)
        }
    }
}

/// A node attribute (`AttributeProto`): the kinds tkd's graphs use.
public struct ONNXAttribute: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case float(Float)
        case int(Int64)
        case string(String)
        case floats([Float])
        case ints([Int64])
        case tensor(ONNXTensor)
    }
    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    public static func int(_ name: String, _ v: Int) -> ONNXAttribute { .init(name, .int(Int64(v))) }
    public static func ints(_ name: String, _ v: [Int]) -> ONNXAttribute { .init(name, .ints(v.map(Int64.init))) }
    public static func float(_ name: String, _ v: Float) -> ONNXAttribute { .init(name, .float(v)) }
    public static func string(_ name: String, _ v: String) -> ONNXAttribute { .init(name, .string(v)) }
    public static func floats(_ name: String, _ v: [Float]) -> ONNXAttribute { .init(name, .floats(v)) }
}

/// One operator application (`NodeProto`), in the default `ai.onnx` domain.
public struct ONNXNode: Sendable, Equatable {
    public var name: String
    public var opType: String
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [ONNXAttribute]

    public init(
        name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
        attributes: [ONNXAttribute] = []
    ) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    public func attribute(_ name: String) -> ONNXAttribute.Value? { attributes.first { $0.name == name }?.value }
}

/// A graph input or output (`ValueInfoProto` with a tensor type): element type and shape, each dimension a
/// number or a symbolic name (`batch`).
public struct ONNXValueInfo: Sendable, Equatable {
    public enum Dimension: Sendable, Equatable {
        case value(Int)
        case parameter(String)
    }
    public var name: String
    public var elementType: ONNXDataType
    public var shape: [Dimension]

    public init(name: String, elementType: ONNXDataType = .float, shape: [Dimension]) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}

/// `GraphProto`: nodes in topological order, the initializers (the weights), inputs and outputs.
public struct ONNXGraph: Sendable, Equatable {
    public var name: String
    public var nodes: [ONNXNode]
    public var initializers: [ONNXTensor]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
    public var docString: String

    public init(
        name: String, nodes: [ONNXNode], initializers: [ONNXTensor], inputs: [ONNXValueInfo],
        outputs: [ONNXValueInfo], docString: String = ""
    ) {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
        self.docString = docString
    }
}

/// `ModelProto`: the IR version, the opsets, who produced it, the graph and string metadata.
public struct ONNXModel: Sendable, Equatable {
    public var irVersion: Int
    /// (domain, version) pairs; "" is `ai.onnx`.
    public var opsets: [(domain: String, version: Int)]
    public var producerName: String
    public var producerVersion: String
    public var docString: String
    public var graph: ONNXGraph
    /// `metadata_props`, in order.
    public var metadata: [(key: String, value: String)]

    public init(
        irVersion: Int, opsets: [(domain: String, version: Int)], producerName: String, producerVersion: String,
        docString: String, graph: ONNXGraph, metadata: [(key: String, value: String)]
    ) {
        self.irVersion = irVersion
        self.opsets = opsets
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.docString = docString
        self.graph = graph
        self.metadata = metadata
    }

    public static func == (a: ONNXModel, b: ONNXModel) -> Bool {
        a.irVersion == b.irVersion && a.opsets.map(\.domain) == b.opsets.map(\.domain)
            && a.opsets.map(\.version) == b.opsets.map(\.version) && a.producerName == b.producerName
            && a.producerVersion == b.producerVersion && a.docString == b.docString && a.graph == b.graph
            && a.metadata.map(\.key) == b.metadata.map(\.key) && a.metadata.map(\.value) == b.metadata.map(\.value)
    }

    /// The `ai.onnx` opset the model imports (0 when none).
    public var opset: Int { opsets.first { $0.domain == "" || $0.domain == "ai.onnx" }?.version ?? 0 }

    public func metadata(_ key: String) -> String? { metadata.first { $0.key == key }?.value }
}
