// SHA-1 (FIPS 180-4). Used only where a file format or an external rule demands it — the
// Speech Commands split rule hashes speaker names with SHA-1. Not for security.

/// Incremental SHA-1.
public struct SHA1: Sendable {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    private var block = MessageBlock()

    public init() {}

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        var b = MessageBlock()
        swap(&b, &block)  // avoid overlapping access to self while compressing
        b.append(bytes) { compress($0) }
        swap(&b, &block)
    }

    public mutating func update(_ string: String) { update(Array(string.utf8)) }

    /// The 20-byte digest. The hasher should not be used afterwards.
    public mutating func finalize() -> [UInt8] {
        var b = MessageBlock()
        swap(&b, &block)
        b.pad(bigEndian: true) { compress($0) }
        swap(&b, &block)
        var out: [UInt8] = []
        out.reserveCapacity(20)
        for word in [h.0, h.1, h.2, h.3, h.4] { out.append(contentsOf: word.bigEndianBytes) }
        return out
    }

    public static func digest<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var s = SHA1()
        s.update(bytes)
        return s.finalize()
    }

    public static func hexDigest(_ string: String) -> String { digest(Array(string.utf8)).hexString }

    private mutating func compress(_ chunk: UnsafeBufferPointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
        for i in 0..<16 {
            w[i] = UInt32(chunk[4 * i]) << 24 | UInt32(chunk[4 * i + 1]) << 16
                | UInt32(chunk[4 * i + 2]) << 8 | UInt32(chunk[4 * i + 3])
        }
        for i in 16..<80 { w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotl(1) }
        var (a, b, c, d, e) = h
        for i in 0..<80 {
            let f: UInt32, k: UInt32
            switch i {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
            case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
            default: f = b ^ c ^ d; k = 0xCA62_C1D6
            }
            let t = a.rotl(5) &+ f &+ e &+ k &+ w[i]
            e = d; d = c; c = b.rotl(30); b = a; a = t
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
    }
}

/// The 64-byte block buffer and Merkle–Damgård padding of SHA-1.
struct MessageBlock: Sendable {
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var filled = 0
    private var totalBytes: UInt64 = 0

    mutating func append<C: Collection>(_ bytes: C, compress: (UnsafeBufferPointer<UInt8>) -> Void)
    where C.Element == UInt8 {
        totalBytes &+= UInt64(bytes.count)
        let handled: Void? = bytes.withContiguousStorageIfAvailable { src in
            var i = 0
            // Fill a partial block, then hash whole blocks straight from the input.
            while i < src.count {
                if filled == 0 && src.count - i >= 64 {
                    compress(UnsafeBufferPointer(rebasing: src[i..<(i + 64)]))
                    i += 64
                    continue
                }
                buffer[filled] = src[i]
                filled += 1
                i += 1
                if filled == 64 {
                    buffer.withUnsafeBufferPointer { compress($0) }
                    filled = 0
                }
            }
        }
        if handled != nil { return }
        for byte in bytes {
            buffer[filled] = byte
            filled += 1
            if filled == 64 {
                buffer.withUnsafeBufferPointer { compress($0) }
                filled = 0
            }
        }
    }

    mutating func pad(bigEndian: Bool, compress: (UnsafeBufferPointer<UInt8>) -> Void) {
        let bitLength = totalBytes &* 8
        buffer[filled] = 0x80
        filled += 1
        if filled > 56 {
            for i in filled..<64 { buffer[i] = 0 }
            buffer.withUnsafeBufferPointer { compress($0) }
            filled = 0
        }
        for i in filled..<56 { buffer[i] = 0 }
        for i in 0..<8 { buffer[56 + i] = UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * UInt64(i))) }
        buffer.withUnsafeBufferPointer { compress($0) }
        filled = 0
    }
}

extension UInt32 {
    @inline(__always) func rotl(_ n: UInt32) -> UInt32 { (self << n) | (self >> (32 - n)) }
    var bigEndianBytes: [UInt8] {
        [UInt8(self >> 24), UInt8(truncatingIfNeeded: self >> 16),
         UInt8(truncatingIfNeeded: self >> 8), UInt8(truncatingIfNeeded: self)]
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, two digits per byte.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in self { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
