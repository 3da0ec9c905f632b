import Foundation
import TKDCore

/// NumPy `.npy` files (format version 1.0): C-order, little-endian float32, float64 or int16 arrays.
/// What `numpy.load` reads and `numpy.save` writes.
public enum NPY {
    /// An array read from a `.npy` file, converted to Float.
    public struct Array: Sendable, Equatable {
        public var shape: [Int]
        public var values: [Float]
        /// The dtype in the file, e.g. `<f4`.
        public var dtype: String
    }

    /// Reads a `.npy` file; float32, float64, int16 and int32 are accepted (converted to Float).
    /// - Throws: `TensorStoreError` naming the file.
    public static func read(_ url: URL) throws -> Array {
        let contents: Data?
        do { contents = try RegularFile.contents(url) } catch let CoreError.io(_, reason) {
            throw TensorStoreError.unreadable(path: url.path, reason: reason)
        }
        guard let data = contents else { throw TensorStoreError.unreadable(path: url.path, reason: "no such file") }
        return try parse(data, path: url.path)
    }

    public static func parse(_ data: Data, path: String) throws -> Array {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Swift.Array(bytes[1...5]) == Swift.Array("NUMPY".utf8) else {
            throw TensorStoreError.malformed(path: path, reason: "missing the \\x93NUMPY magic")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            guard bytes.count >= 12 else { throw TensorStoreError.malformed(path: path, reason: "short header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        }
        guard bytes.count >= headerStart + headerLength else {
            throw TensorStoreError.malformed(path: path, reason: "short header")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let dtype = field("descr", in: header), let order = field("fortran_order", in: header),
            let shapeText = field("shape", in: header)
        else {
            throw TensorStoreError.malformed(path: path, reason: "header \(header)")
        }
        guard order == "False" else {
            throw TensorStoreError.malformed(path: path, reason: "Fortran order is not supported")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()"))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = dims.compactMap { Int($0) }
        guard shape.count == dims.count, let count = TensorShape.elementCount(shape) else {
            throw TensorStoreError.malformed(
                path: path, reason: "shape \(shapeText): expected non-negative dimensions whose product fits in memory")
        }
        let body = Swift.Array(bytes[(headerStart + headerLength)...])
        let size: Int
        switch dtype {
        case "<f4", "<i4": size = 4
        case "<f8": size = 8
        case "<i2": size = 2
        default: throw TensorStoreError.unsupportedType(path: path, dtype: dtype, expected: "<f4, <f8, <i2 or <i4")
        }
        guard case let (needed, false) = count.multipliedReportingOverflow(by: size), body.count >= needed else {
            throw TensorStoreError.malformed(
                path: path, reason: "\(body.count) data bytes for shape \(shape) of \(dtype)")
        }
        var values = [Float](repeating: 0, count: count)
        body.withUnsafeBytes { raw in
            for i in 0..<count {
                switch dtype {
                case "<f4":
                    values[i] = Float(
                        bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case "<i4":
                    values[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case "<f8":
                    values[i] = Float(
                        Double(
                            bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                    )
                default:
                    values[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                }
            }
        }
        return Array(shape: shape, values: values, dtype: dtype)
    }

    /// The bytes of a `.npy` file holding `values` as little-endian float32 with `shape`.
    public static func encode(_ values: [Float], shape: [Int]) -> Data {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that magic + lengths + header is a multiple of 64, ending in a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data([0x93] + Swift.Array("NUMPY".utf8) + [1, 0])
        let n = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        out.append(contentsOf: Swift.Array(header.utf8))
        values.withUnsafeBufferPointer { buf in
            for v in buf { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        }
        return out
    }

    /// Writes float32 `values` with `shape` to `url` atomically.
    public static func write(_ values: [Float], shape: [Int], to url: URL) throws {
        try AtomicFile.write(encode(values, shape: shape), to: url)
    }

    /// The value of `'key': value` in a header dict literal.
    static func field(_ key: String, in header: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        var rest = header[r.upperBound...].trimmingCharacters(in: .whitespaces)[...]
        if rest.hasPrefix("(") {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if rest.hasPrefix("'") {
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "'") else { return nil }
            return String(rest[..<close])
        }
        return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }
}
