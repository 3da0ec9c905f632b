import Crypto
import Foundation

// SHA-256 (FIPS 180-4): content hashes of audio, corpora, tensor shards and checkpoints.
// Backed by swift-crypto (BoringSSL's assembly, SHA-NI where the CPU has it): every generated file is
// hashed, so this is on the hot path.

/// Incremental SHA-256.
// Crypto.SHA256 is a copy-on-write value without a Sendable conformance in swift-crypto 3; hashers are
// never shared between threads here.
public struct SHA256: @unchecked Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable {
            hasher.update(bufferPointer: UnsafeRawBufferPointer($0))
        }
        if done == nil { hasher.update(data: Array(bytes)) }
    }

    public mutating func update(_ data: Data) { hasher.update(data: data) }

    public mutating func update(_ string: String) { hasher.update(data: Array(string.utf8)) }

    /// The 32-byte digest. The hasher should not be used afterwards.
    public mutating func finalize() -> [UInt8] { Array(hasher.finalize()) }

    public mutating func finalizeHex() -> String { finalize().hexString }

    public static func digest<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var s = SHA256()
        s.update(bytes)
        return s.finalize()
    }

    public static func hex(_ data: Data) -> String { Crypto.SHA256.hash(data: data).hexString }

    public static func hex(_ string: String) -> String { digest(Array(string.utf8)).hexString }

    /// SHA-256 of a file's bytes, read in 1 MiB chunks.
    /// - Throws: `CoreError.io` when the file is not a regular file (a FIFO or device would never end), or cannot
    ///   be opened or read.
    public static func hex(fileAt url: URL) throws -> String {
        try RegularFile.requireRegular(url)
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw CoreError.io(path: url.path, reason: "cannot open for reading")
        }
        defer { try? handle.close() }
        var s = SHA256()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw CoreError.io(path: url.path, reason: "read failed: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            s.update(chunk)
        }
        return s.finalizeHex()
    }
}
