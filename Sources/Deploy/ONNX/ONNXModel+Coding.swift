import Foundation

// Field numbers from onnx/onnx.proto (ONNX 1.x; unchanged since IR version 3 for everything used here).

extension ONNXModel {
    /// The model's protobuf bytes (`ModelProto`). Every field is written in field-number order, so the same
    /// model gives the same bytes.
    public func serialized() -> [UInt8] {
        var w = ProtoWriter()
        w.int(1, Int64(irVersion))
        w.string(2, producerName)
        w.string(3, producerVersion)
        if !docString.isEmpty { w.string(6, docString) }
        w.message(7) { graph.encode(into: &$0) }
        for o in opsets {
            w.message(8) {
                if !o.domain.isEmpty { $0.string(1, o.domain) }
                $0.int(2, Int64(o.version))
            }
        }
        for m in metadata {
            w.message(14) {
                $0.string(1, m.key)
                $0.string(2, m.value)
            }
        }
        return w.bytes
    }

    /// Decodes a `ModelProto`.
    /// - Throws: `ProtoError` naming what is malformed.
    static func decode(_ bytes: [UInt8]) throws -> ONNXModel {
        var r = try ProtoReader(bytes[...])
        var model = ONNXModel(
            irVersion: 0, opsets: [], producerName: "", producerVersion: "", docString: "",
            graph: ONNXGraph(name: "", nodes: [], initializers: [], inputs: [], outputs: []), metadata: [])
        var sawGraph = false
        while let (field, wire) = try r.next() {
            switch (field, wire) {
            case (1, .varint): model.irVersion = Int(clamping: try r.int())
            case (2, .lengthDelimited): model.producerName = try r.string()
            case (3, .lengthDelimited): model.producerVersion = try r.string()
            case (6, .lengthDelimited): model.docString = try r.string()
            case (7, .lengthDelimited):
                var g = try r.message()
                model.graph = try ONNXGraph.decode(&g)
                sawGraph = true
            case (8, .lengthDelimited):
                var o = try r.message()
                var domain = "", version = 0
                while let (f, w) = try o.next() {
                    switch (f, w) {
                    case (1, .lengthDelimited): domain = try o.string()
                    case (2, .varint): version = Int(clamping: try o.int())
                    default: try o.skip(w)
                    }
                }
                model.opsets.append((domain, version))
            case (14, .lengthDelimited):
                var e = try r.message()
                var key = "", value = ""
                while let (f, w) = try e.next() {
                    switch (f, w) {
                    case (1, .lengthDelimited): key = try e.string()
                    case (2, .lengthDelimited): value = try e.string()
                    default: try e.skip(w)
                    }
                }
                model.metadata.append((key, value))
            default: try r.skip(wire)
            }
        }
        guard sawGraph else { throw ProtoError("the model has no graph") }
        return model
    }
}

extension ONNXGraph {
    func encode(into w: inout ProtoWriter) {
        for n in nodes { w.message(1) { n.encode(into: &$0) } }
        w.string(2, name)
        for t in initializers { w.message(5) { t.encode(into: &$0) } }
        if !docString.isEmpty { w.string(10, docString) }
        for v in inputs { w.message(11) { v.encode(into: &$0) } }
        for v in outputs { w.message(12) { v.encode(into: &$0) } }
    }

    /// The graph's own bytes: what a graph fingerprint hashes (the model's producer and metadata left out).
    public func serialized() -> [UInt8] {
        var w = ProtoWriter()
        encode(into: &w)
        return w.bytes
    }

    /// At most this many nodes, initializers, inputs or outputs are read.
    static let maximumItems = 1 << 20

    static func decode(_ r: inout ProtoReader) throws -> ONNXGraph {
        var g = ONNXGraph(name: "", nodes: [], initializers: [], inputs: [], outputs: [])
        while let (field, wire) = try r.next() {
            switch (field, wire) {
            case (1, .lengthDelimited):
                var m = try r.message()
                g.nodes.append(try ONNXNode.decode(&m))
            case (2, .lengthDelimited): g.name = try r.string()
            case (5, .lengthDelimited):
                var m = try r.message()
                g.initializers.append(try ONNXTensor.decode(&m))
            case (10, .lengthDelimited): g.docString = try r.string()
            case (11, .lengthDelimited):
                var m = try r.message()
                g.inputs.append(try ONNXValueInfo.decode(&m))
            case (12, .lengthDelimited):
                var m = try r.message()
                g.outputs.append(try ONNXValueInfo.decode(&m))
            case (15, .lengthDelimited):
                throw ProtoError("the graph has sparse initializers, which tkd does not read")
            default: try r.skip(wire)
            }
            guard max(g.nodes.count, g.initializers.count, g.inputs.count, g.outputs.count) <= Self.maximumItems
            else { throw ProtoError("the graph has more than \(Self.maximumItems) items of one kind") }
        }
        return g
    }
}

extension ONNXNode {
    func encode(into w: inout ProtoWriter) {
        for i in inputs { w.string(1, i) }
        for o in outputs { w.string(2, o) }
        w.string(3, name)
        w.string(4, opType)
        for a in attributes { w.message(5) { a.encode(into: &$0) } }
        if !domain.isEmpty { w.string(7, domain) }
    }

    static func decode(_ r: inout ProtoReader) throws -> ONNXNode {
        var n = ONNXNode(name: "", opType: "", inputs: [], outputs: [])
        while let (field, wire) = try r.next() {
            switch (field, wire) {
            case (1, .lengthDelimited): n.inputs.append(try r.string())
            case (2, .lengthDelimited): n.outputs.append(try r.string())
            case (3, .lengthDelimited): n.name = try r.string()
            case (4, .lengthDelimited): n.opType = try r.string()
            case (5, .lengthDelimited):
                var m = try r.message()
                n.attributes.append(try ONNXAttribute.decode(&m))
            case (7, .lengthDelimited): n.domain = try r.string()
            default: try r.skip(wire)
            }
        }
        return n
    }
}

extension ONNXAttribute {
    // AttributeProto.AttributeType
    private static let float = 1, int = 2, string = 3, tensor = 4, floats = 6, ints = 7

    func encode(into w: inout ProtoWriter) {
        w.string(1, name)
        switch value {
        case let .float(v):
            w.float(2, v)
            w.int(20, Int64(Self.float))
        case let .int(v):
            w.int(3, v)
            w.int(20, Int64(Self.int))
        case let .string(v):
            w.string(4, v)
            w.int(20, Int64(Self.string))
        case let .tensor(t):
            w.message(5) { t.encode(into: &$0) }
            w.int(20, Int64(Self.tensor))
        case let .floats(v):
            for x in v { w.float(7, x) }
            w.int(20, Int64(Self.floats))
        case let .ints(v):
            for x in v { w.int(8, x) }
            w.int(20, Int64(Self.ints))
        }
    }

    static func decode(_ r: inout ProtoReader) throws -> ONNXAttribute {
        var name = "", type: Int64 = 0
        var f: Float?, i: Int64?, s: String?, t: ONNXTensor?
        var fs: [Float] = [], ints: [Int64] = []
        while let (field, wire) = try r.next() {
            switch (field, wire) {
            case (1, .lengthDelimited): name = try r.string()
            case (2, .fixed32): f = try r.float()
            case (3, .varint): i = try r.int()
            case (4, .lengthDelimited): s = try r.string()
            case (5, .lengthDelimited):
                var m = try r.message()
                t = try ONNXTensor.decode(&m)
            case (7, _): try r.floats(wire, into: &fs)
            case (8, _): try r.ints(wire, into: &ints, limit: ONNXGraph.maximumItems)
            case (20, .varint): type = try r.int()
            case (6, _), (10, _), (11, _), (22, _), (23, _):
                throw ProtoError("attribute '\(name)' holds a graph or sparse tensor, which tkd does not read")
            default: try r.skip(wire)
            }
        }
        let value: Value
        switch Int(clamping: type) {
        case Self.float: value = .float(f ?? 0)
        case Self.int: value = .int(i ?? 0)
        case Self.string: value = .string(s ?? "")
        case Self.tensor:
            guard let t else { throw ProtoError("attribute '\(name)' is a tensor without one") }
            value = .tensor(t)
        case Self.floats: value = .floats(fs)
        case Self.ints: value = .ints(ints)
        default: throw ProtoError("attribute '\(name)' has type \(type), which tkd does not read")
        }
        return ONNXAttribute(name, value)
    }
}

extension ONNXTensor {
    /// The most elements a tensor may declare (2³¹: 8 GiB of float32).
    static let maximumElements = 1 << 31

    func encode(into w: inout ProtoWriter) {
        for d in dims { w.int(1, Int64(d)) }  // proto2: repeated scalars unpacked
        w.int(2, Int64(dataType.rawValue))
        w.string(8, name)
        w.bytes(9, raw)
    }

    static func decode(_ r: inout ProtoReader) throws -> ONNXTensor {
        var name = "", type: Int64 = 0
        var dims: [Int64] = []
        var raw: [UInt8]?
        var floatData: [Float] = [], intData: [Int64] = []
        var int64Data: [Int64] = []
        while let (field, wire) = try r.next() {
            switch (field, wire) {
            case (1, _): try r.ints(wire, into: &dims, limit: 64)
            case (2, .varint): type = try r.int()
            case (4, _): try r.floats(wire, into: &floatData)
            case (5, _): try r.ints(wire, into: &intData, limit: maximumElements)
            case (7, _): try r.ints(wire, into: &int64Data, limit: maximumElements)
            case (8, .lengthDelimited): name = try r.string()
            case (9, .lengthDelimited): raw = Array(try r.lengthDelimited())
            case (13, _), (14, .varint):
                throw ProtoError("tensor '\(name)' stores its data outside the model file, which tkd does not read")
            default: try r.skip(wire)
            }
        }
        guard let dataType = ONNXDataType(rawValue: Int32(clamping: type)) else {
            throw ProtoError("tensor '\(name)' has data type \(type); tkd reads float32, uint8, int8, int32, int64")
        }
        var count = 1
        for d in dims {
            guard d >= 0, d <= Int64(maximumElements) else { throw ProtoError("tensor '\(name)' has dimension \(d)") }
            let (p, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, p <= maximumElements else {
                throw ProtoError("tensor '\(name)' declares more than \(maximumElements) elements")
            }
            count = p
        }
        var t = ONNXTensor(name: name, dataType: dataType, dims: dims.map { Int($0) }, raw: [])
        if let raw {
            guard raw.count == count * dataType.size else {
                throw ProtoError(
                    "tensor '\(name)' has \(raw.count) bytes of data; dims \(t.dims) of \(dataType.name) need "
                        + "\(count * dataType.size)")
            }
            t.raw = raw
            return t
        }
        func need(_ n: Int) throws {
            guard n == count else {
                throw ProtoError("tensor '\(name)' holds \(n) values; dims \(t.dims) need \(count)")
            }
        }
        switch dataType {
        case .float:
            try need(floatData.count)
            t = ONNXTensor(name: name, floats: floatData, dims: t.dims)
        case .int64:
            try need(int64Data.count)
            t = ONNXTensor(name: name, int64s: int64Data, dims: t.dims)
        case .int32:
            try need(intData.count)
            t = ONNXTensor(name: name, int32s: intData.map { Int32(truncatingIfNeeded: $0) }, dims: t.dims)
        case .int8:
            try need(intData.count)
            t = ONNXTensor(name: name, int8s: intData.map { Int8(truncatingIfNeeded: $0) }, dims: t.dims)
        case .uint8:
            try need(intData.count)
            t = ONNXTensor(name: name, uint8s: intData.map { UInt8(truncatingIfNeeded: $0) }, dims: t.dims)
        }
        return t
    }
}

extension ONNXValueInfo {
    func encode(into w: inout ProtoWriter) {
        w.string(1, name)
        w.message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, Int64(elementType.rawValue))
                tensor.message(2) { shapeProto in
                    for d in shape {
                        shapeProto.message(1) { dim in
                            switch d {
                            case let .value(v): dim.int(1, Int64(v))
                            case let .parameter(p): dim.string(2, p)
                            }
                        }
                    }
                }
            }
        }
    }

    static func decode(_ r: inout ProtoReader) throws -> ONNXValueInfo {
        var v = ONNXValueInfo(name: "", shape: [])
        while let (field, wire) = try r.next() {
            switch (field, wire) {
            case (1, .lengthDelimited): v.name = try r.string()
            case (2, .lengthDelimited):
                var type = try r.message()
                while let (f, w) = try type.next() {
                    guard f == 1, w == .lengthDelimited else {
                        try type.skip(w)
                        continue
                    }
                    var tensor = try type.message()
                    while let (tf, tw) = try tensor.next() {
                        switch (tf, tw) {
                        case (1, .varint):
                            let e = try tensor.int()
                            guard let t = ONNXDataType(rawValue: Int32(clamping: e)) else {
                                throw ProtoError("value '\(v.name)' has element type \(e)")
                            }
                            v.elementType = t
                        case (2, .lengthDelimited):
                            var shape = try tensor.message()
                            while let (sf, sw) = try shape.next() {
                                guard sf == 1, sw == .lengthDelimited else {
                                    try shape.skip(sw)
                                    continue
                                }
                                var dim = try shape.message()
                                var d = ONNXValueInfo.Dimension.parameter("")
                                while let (df, dw) = try dim.next() {
                                    switch (df, dw) {
                                    case (1, .varint): d = .value(Int(clamping: try dim.int()))
                                    case (2, .lengthDelimited): d = .parameter(try dim.string())
                                    default: try dim.skip(dw)
                                    }
                                }
                                v.shape.append(d)
                                guard v.shape.count <= 64 else { throw ProtoError("value '\(v.name)' has > 64 dims") }
                            }
                        default: try tensor.skip(tw)
                        }
                    }
                }
            default: try r.skip(wire)
            }
        }
        return v
    }
}
