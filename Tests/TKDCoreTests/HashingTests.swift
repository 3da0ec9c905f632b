import Foundation
import TestSupport
import Testing

@testable import TKDCore

@Suite("Hashing")
struct HashingTests {
    // Known answers from FIPS 180-2 appendix examples.
    @Test("SHA-1 matches the FIPS 180 test vectors")
    func sha1Vectors() {
        #expect(SHA1.digest(Array("".utf8)).hexString == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.digest(Array("abc".utf8)).hexString == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            SHA1.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hexString
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(
            SHA1.digest([UInt8](repeating: 0x61, count: 1_000_000)).hexString
                == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("SHA-256 matches the FIPS 180 test vectors")
    func sha256Vectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.digest([UInt8](repeating: 0x61, count: 1_000_000)).hexString
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("incremental updates in odd-sized pieces equal one-shot hashing, at every block boundary")
    func incremental() {
        var rng = CounterRNG(seed: 1, key: ["hash-test"])
        let bytes = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for n in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 999] {
            let one = SHA256.digest(bytes.prefix(n))
            var inc = SHA256()
            var i = 0
            var step = 1
            while i < n {
                let j = min(n, i + step)
                inc.update(bytes[i..<j])
                i = j
                step = step % 70 + 7
            }
            #expect(inc.finalize() == one, "length \(n)")
            var s1 = SHA1()
            s1.update(bytes.prefix(n).map { $0 })  // non-contiguous path
            #expect(s1.finalize() == SHA1.digest(Array(bytes.prefix(n))))
        }
    }

    @Test("SHA-256 of a file equals SHA-256 of its bytes, and a missing file is named")
    func fileHash() throws {
        let dir = TestFolder.path("hash")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("x.bin")
        let data = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try AtomicFile.write(data, to: url)
        #expect(try SHA256.hex(fileAt: url) == SHA256.hex(data))
        #expect(throws: CoreError.self) { try SHA256.hex(fileAt: dir.appendingPathComponent("missing")) }
    }
}
