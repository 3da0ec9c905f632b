import Foundation
import TKDCore

/// Shape arithmetic with overflow checks, for every reader of tensor files.
public enum TensorShape {
    /// The number of elements of `shape`, or nil when a dimension is negative or the product overflows.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            guard d >= 0, case let (next, false) = count.multipliedReportingOverflow(by: d) else { return nil }
            count = next
        }
        return count
    }
}

/// Element types of safetensors files used here.
public enum TensorDType: String, Sendable, Codable, CaseIterable {
    case float32 = "F32"
    case float16 = "F16"
    /// bfloat16 (the upper half of a float32), as Hugging Face checkpoints store it.
    case bfloat16 = "BF16"

    public var byteSize: Int { self == .float32 ? 4 : 2 }
}

extension Float {
    /// bfloat16 bits, rounded to nearest even (NaN kept quiet).
    var bfloat16Bits: UInt16 {
        let bits = bitPattern
        if isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    init(bfloat16Bits b: UInt16) { self.init(bitPattern: UInt32(b) << 16) }
}

/// safetensors files (Hugging Face's format): an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the raw
/// little-endian data. `safetensors.numpy.load_file` and `safetensors.torch.load_file` read them.
public enum SafeTensors {
    public struct Tensor: Sendable {
        public var name: String
        public var dtype: TensorDType
        public var shape: [Int]
        public var values: [Float]

        public init(name: String, dtype: TensorDType = .float32, shape: [Int], values: [Float]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.values = values
        }
    }

    /// The bytes of a file holding `tensors` (stored in the given order; the header's keys are sorted).
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) -> Data {
        var header = "{"
        var entries: [(String, String)] = []
        var offset = 0
        for t in tensors {
            precondition(
                t.shape.reduce(1, *) == t.values.count,
                "\(t.name): shape \(t.shape) does not hold \(t.values.count) values")
            let bytes = t.values.count * t.dtype.byteSize
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append(
                (
                    t.name,
                    "{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],"
                        + "\"data_offsets\":[\(offset),\(offset + bytes)]}"
                ))
            offset += bytes
        }
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(
                separator: ",")
            entries.append(("__metadata__", "{\(m)}"))
        }
        header += entries.sorted { $0.0 < $1.0 }.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        // Pad the header with spaces so that the data starts 8-byte aligned.
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var out = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for t in tensors {
            t.values.withUnsafeBufferPointer { buf in
                switch t.dtype {
                case .float32:
                    buf.withMemoryRebound(to: UInt32.self) { u in
                        var le = [UInt32](repeating: 0, count: u.count)
                        for i in 0..<u.count { le[i] = u[i].littleEndian }
                        le.withUnsafeBytes { out.append(contentsOf: $0) }
                    }
                case .float16:
                    var half = [UInt16](repeating: 0, count: buf.count)
                    for i in 0..<buf.count { half[i] = Float16(buf[i]).bitPattern.littleEndian }
                    half.withUnsafeBytes { out.append(contentsOf: $0) }
                case .bfloat16:
                    var half = [UInt16](repeating: 0, count: buf.count)
                    for i in 0..<buf.count { half[i] = buf[i].bfloat16Bits.littleEndian }
                    half.withUnsafeBytes { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if ch.value < 0x20 { out += String(format: "\\u%04x", ch.value) } else { out.unicodeScalars.append(ch) }
            }
        }
        return out + "\""
    }
}

/// A memory-mapped safetensors file. Tensor data is read in place: float32 tensors are handed out as
/// buffer pointers into the mapping, without copying.
public final class SafeTensorsFile: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let dtype: TensorDType
        public let shape: [Int]
        public let range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Maps and checks a file: header length, JSON, dtypes, shapes against offsets, offsets inside the file.
    /// - Throws: `TensorStoreError` naming the file.
    public init(_ url: URL) throws {
        path = url.path
        let data: Data
        do {
            try RegularFile.requireRegular(url)
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw TensorStoreError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        guard data.count >= 8 else {
            throw TensorStoreError.malformed(path: url.path, reason: "\(data.count) bytes; expected at least 8")
        }
        let header = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard header <= UInt64(data.count - 8) else {
            throw TensorStoreError.malformed(
                path: url.path, reason: "header length \(header) exceeds the file (\(data.count) bytes): truncated?")
        }
        let n = Int(header)
        guard let json = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] else {
            throw TensorStoreError.malformed(path: url.path, reason: "header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        let available = data.count - 8 - n
        for (name, value) in json {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let e = value as? [String: Any], let d = e["dtype"] as? String, let shape = e["shape"] as? [Int],
                let offsets = e["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw TensorStoreError.malformed(
                    path: url.path, reason: "tensor '\(name)' has no dtype/shape/data_offsets")
            }
            guard let dtype = TensorDType(rawValue: d) else {
                throw TensorStoreError.unsupportedType(path: url.path, dtype: d, expected: "F32, F16 or BF16")
            }
            guard let count = TensorShape.elementCount(shape),
                case let (bytes, false) = count.multipliedReportingOverflow(by: dtype.byteSize)
            else {
                throw TensorStoreError.malformed(
                    path: url.path,
                    reason:
                        "tensor '\(name)': shape \(shape) has a negative dimension or more elements than fit in memory")
            }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= available, offsets[1] - offsets[0] == bytes
            else {
                throw TensorStoreError.malformed(
                    path: url.path,
                    reason:
                        "tensor '\(name)': offsets \(offsets) do not fit shape \(shape) of \(d) in \(available) "
                        + "data bytes"
                )
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        // The data must be exactly the tensors, in order, without gaps or overlaps (the format's rule).
        var end = 0
        for (name, entry) in entries.sorted(by: {
            ($0.value.range.lowerBound, $0.key) < ($1.value.range.lowerBound, $1.key)
        }) {
            guard entry.range.lowerBound == end else {
                throw TensorStoreError.malformed(
                    path: url.path,
                    reason:
                        "tensor '\(name)' starts at byte \(entry.range.lowerBound); expected \(end) (tensors must be "
                        + "contiguous and must not overlap)")
            }
            end = entry.range.upperBound
        }
        guard end == available else {
            throw TensorStoreError.malformed(
                path: url.path, reason: "the tensors cover \(end) of the \(available) data bytes; expected all of them")
        }
        self.entries = entries
        self.metadata = metadata
        self.data = data
        self.dataStart = 8 + n
    }

    /// A tensor's values as Float (float16 and bfloat16 are widened; float32 is copied out of the mapping).
    public func values(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw TensorStoreError.malformed(path: path, reason: "no tensor '\(name)'") }
        if e.dtype == .float32 { return try withFloat32(name) { Array($0) } }
        let brain = e.dtype == .bfloat16
        return data.withUnsafeBytes { raw in
            (0..<(e.range.count / 2)).map { i in
                let bits = UInt16(
                    littleEndian: raw.loadUnaligned(
                        fromByteOffset: dataStart + e.range.lowerBound + 2 * i, as: UInt16.self))
                return brain ? Float(bfloat16Bits: bits) : Float(Float16(bitPattern: bits))
            }
        }
    }

    /// Calls `body` with a float32 tensor's values in place (no copy; little-endian hosts).
    public func withFloat32<R>(_ name: String, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        guard let e = entries[name] else { throw TensorStoreError.malformed(path: path, reason: "no tensor '\(name)'") }
        guard e.dtype == .float32 else {
            throw TensorStoreError.unsupportedType(path: path, dtype: e.dtype.rawValue, expected: "F32")
        }
        return try data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + e.range.lowerBound
            if Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                return try body(
                    UnsafeBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: e.range.count / 4))
            }
            let copy = (0..<(e.range.count / 4)).map {
                Float(
                    bitPattern: raw.loadUnaligned(
                        fromByteOffset: dataStart + e.range.lowerBound + 4 * $0, as: UInt32.self))
            }
            return try copy.withUnsafeBufferPointer(body)
        }
    }
}
