import Crypto
import Foundation

// SHA-1 (FIPS 180-4) through swift-crypto's `Insecure.SHA1`. Used only where an external rule demands it:
// the Speech Commands split rule hashes speaker names with SHA-1. Not for security.

/// Incremental SHA-1.
// Crypto's hashers are copy-on-write values without a Sendable conformance in swift-crypto 3; hashers are
// never shared between threads here.
public struct SHA1: @unchecked Sendable {
    private var hasher = Insecure.SHA1()

    public init() {}

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable {
            hasher.update(bufferPointer: UnsafeRawBufferPointer($0))
        }
        if done == nil { hasher.update(data: Array(bytes)) }
    }

    public mutating func update(_ string: String) { hasher.update(data: Array(string.utf8)) }

    /// The 20-byte digest. The hasher should not be used afterwards.
    public mutating func finalize() -> [UInt8] { Array(hasher.finalize()) }

    public static func digest<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var s = SHA1()
        s.update(bytes)
        return s.finalize()
    }
}
