import Foundation

/// The Protocol Buffers wire format, as far as ONNX's messages need it: varints (wire type 0), 64-bit
/// (1, skipped only), length-delimited fields (2) and 32-bit fields (5). Written by hand instead of through
/// swift-protobuf: ONNX needs eight small messages, and a reader written here can bound every length
/// against the bytes left before it allocates anything (`ProtoReader`), which a model file from elsewhere
/// needs (Docs/reliability.md). Checked against `onnx`'s own parser by `Scripts/reference/onnx_parity.py`
/// and a model written by `onnx.helper` (`Tests/DeployTests/Fixtures`).
enum WireType: UInt64 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
}

/// Appends fields to a message's bytes, in the order they are written.
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wire: WireType) { varint(UInt64(field) << 3 | wire.rawValue) }

    /// An int64 or int32 field (negative values as ten-byte two's complement, as protobuf does).
    mutating func int(_ field: Int, _ value: Int64) {
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    mutating func float(_ field: Int, _ value: Float) {
        tag(field, .fixed32)
        let b = value.bitPattern
        for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: b >> (8 * UInt32(k)))) }
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    /// An embedded message.
    mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        bytes(field, inner.bytes)
    }
}

/// Reads a message's fields one by one. Every length is checked against the bytes that remain before
/// anything is sliced, and nesting is bounded, so a hostile file fails with `ProtoError` instead of
/// allocating or recursing without limit.
struct ProtoReader {
    let bytes: ArraySlice<UInt8>
    private(set) var offset: Int
    /// Messages nested around this one.
    let depth: Int

    static let maximumDepth = 32

    init(_ bytes: ArraySlice<UInt8>, depth: Int = 0) throws {
        guard depth <= Self.maximumDepth else { throw ProtoError("messages nested deeper than \(Self.maximumDepth)") }
        self.bytes = bytes
        offset = bytes.startIndex
        self.depth = depth
    }

    var atEnd: Bool { offset >= bytes.endIndex }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.endIndex else { throw ProtoError("a varint runs past the end of the message") }
            let b = bytes[offset]
            offset += 1
            guard shift < 64 else { throw ProtoError("a varint longer than ten bytes") }
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func next() throws -> (field: Int, wire: WireType)? {
        guard !atEnd else { return nil }
        let key = try varint()
        guard let wire = WireType(rawValue: key & 7) else { throw ProtoError("wire type \(key & 7) is not supported") }
        let field = key >> 3
        guard field > 0, field < 1 << 29 else { throw ProtoError("field number \(field) is out of range") }
        return (Int(field), wire)
    }

    mutating func int() throws -> Int64 { Int64(bitPattern: try varint()) }

    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let n = try varint()
        guard n <= UInt64(bytes.endIndex - offset) else {
            throw ProtoError("a field declares \(n) bytes; only \(bytes.endIndex - offset) remain")
        }
        let start = offset
        offset += Int(n)
        return bytes[start..<offset]
    }

    mutating func string() throws -> String {
        let b = try lengthDelimited()
        guard let s = String(validating: b, as: UTF8.self) else { throw ProtoError("a string is not valid UTF-8") }
        return s
    }

    mutating func fixed32() throws -> UInt32 {
        guard bytes.endIndex - offset >= 4 else { throw ProtoError("a 32-bit field runs past the end") }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[offset + k]) << (8 * UInt32(k)) }
        offset += 4
        return v
    }

    mutating func float() throws -> Float { Float(bitPattern: try fixed32()) }

    /// An embedded message's reader.
    mutating func message() throws -> ProtoReader { try ProtoReader(try lengthDelimited(), depth: depth + 1) }

    /// Skips a field of any supported wire type.
    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed32: _ = try fixed32()
        case .fixed64:
            guard bytes.endIndex - offset >= 8 else { throw ProtoError("a 64-bit field runs past the end") }
            offset += 8
        case .lengthDelimited: _ = try lengthDelimited()
        }
    }

    /// A repeated int64 field's values, packed (length-delimited) or as one varint.
    mutating func ints(_ wire: WireType, into values: inout [Int64], limit: Int) throws {
        if wire == .varint {
            values.append(try int())
        } else {
            guard wire == .lengthDelimited else { throw ProtoError("an integer list has wire type \(wire.rawValue)") }
            var inner = try ProtoReader(try lengthDelimited(), depth: depth + 1)
            while !inner.atEnd { values.append(try inner.int()) }
        }
        guard values.count <= limit else { throw ProtoError("an integer list holds more than \(limit) values") }
    }

    /// A repeated float field's values, packed or one at a time.
    mutating func floats(_ wire: WireType, into values: inout [Float]) throws {
        if wire == .fixed32 {
            values.append(try float())
        } else {
            guard wire == .lengthDelimited else { throw ProtoError("a float list has wire type \(wire.rawValue)") }
            let b = try lengthDelimited()
            guard b.count % 4 == 0 else { throw ProtoError("a packed float list of \(b.count) bytes") }
            values.reserveCapacity(values.count + b.count / 4)
            var i = b.startIndex
            while i < b.endIndex {
                var v: UInt32 = 0
                for k in 0..<4 { v |= UInt32(b[i + k]) << (8 * UInt32(k)) }
                values.append(Float(bitPattern: v))
                i += 4
            }
        }
    }
}

/// A protobuf decoding failure (the caller adds the file).
struct ProtoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
