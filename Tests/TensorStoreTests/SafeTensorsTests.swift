import Foundation
import TestSupport
import Testing

@testable import TensorStore

@Suite("safetensors and .npy")
struct SafeTensorsTests {

    @Test("float32 and float16 tensors round-trip; the header is sorted, 8-byte aligned and carries metadata")
    func roundTrip() throws {
        let dir = (try! TestFolder.make("st"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = SafeTensors.Tensor(name: "yes_0a7c2a8d_nohash_0", shape: [3, 2], values: [1, -2, 3.5, 0, 1e-8, 65504])
        let b = SafeTensors.Tensor(
            name: "_silence_training_00000", dtype: .float16, shape: [2, 2], values: [0.5, -1, 2049, 1e-3])
        let data = SafeTensors.encode([a, b], metadata: ["preset": "logmel40"])
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        #expect((8 + n) % 8 == 0)
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        #expect(
            header.hasPrefix(
                #"{"__metadata__":{"preset":"logmel40"},"#
                    + #""_silence_training_00000":{"dtype":"F16","shape":[2,2],"data_offsets":[24,32]}"#
            ))
        let url = dir.appendingPathComponent("x.safetensors")
        try data.write(to: url)
        let f = try SafeTensorsFile(url)
        #expect(f.metadata == ["preset": "logmel40"])
        #expect(try f.values(a.name) == a.values)
        #expect(try f.withFloat32(a.name) { Array($0) } == a.values)
        // float16 rounds to the nearest half: 2049 → 2048, 1e-3 → 0.0010004044.
        #expect(try f.values(b.name) == [0.5, -1, 2048, Float(Float16(1e-3))])
        #expect(f.entries[b.name]?.shape == [2, 2])
    }

    @Test("a truncated or malformed file is reported with its path")
    func errors() throws {
        let dir = (try! TestFolder.make("st"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = SafeTensors.encode([SafeTensors.Tensor(name: "x", shape: [4], values: [1, 2, 3, 4])])
        let cut = dir.appendingPathComponent("cut.safetensors")
        try data.prefix(data.count - 3).write(to: cut)
        #expect { try SafeTensorsFile(cut) } throws: { e in
            guard case let .malformed(path, reason) = e as? TensorStoreError else { return false }
            return path == cut.path && reason.contains("do not fit")
        }
        let junk = dir.appendingPathComponent("junk.safetensors")
        try Data("not a safetensors file at all".utf8).write(to: junk)
        #expect(throws: TensorStoreError.self) { try SafeTensorsFile(junk) }
        #expect(throws: TensorStoreError.self) {
            try SafeTensorsFile(dir.appendingPathComponent("missing.safetensors"))
        }
    }

    @Test("hostile safetensors headers: 2^63 and 2^64 − 1 lengths, overflowing or negative shapes, overlaps, gaps")
    func hostileSafeTensors() throws {
        let dir = try TestFolder.make("st-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(_ header: String, length: UInt64? = nil, data: Int = 0) -> Data {
            var out = Data()
            var n = (length ?? UInt64(header.utf8.count)).littleEndian
            withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
            return out + Data(header.utf8) + Data(count: data)
        }
        let cases: [(String, Data, String)] = [
            ("h63", file("{}", length: 1 << 63), "header length"),
            ("h64", file("{}", length: UInt64.max), "header length"),
            (
                "product", file(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#),
                "shape"
            ),
            ("negative", file(#"{"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}"#, data: 16), "shape"),
            (
                "overlap",
                file(
                    #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"#
                        + #""b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
                    data: 24), "overlap"
            ),
            ("gap", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: 16), "contiguous"),
            ("size", file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, data: 16), "a"),
            ("past", file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8), "a"),
        ]
        for (name, data, mention) in cases {
            let url = dir.appendingPathComponent("\(name).safetensors")
            try data.write(to: url)
            #expect {
                let f = try SafeTensorsFile(url)
                _ = try f.entries.keys.map { try f.values($0) }
            } throws: { e in
                guard case let .malformed(path, reason) = e as? TensorStoreError else { return false }
                return path == url.path && reason.contains(mention)
            }
        }
    }

    @Test("hostile .npy headers: negative or overflowing dimensions, data shorter than the shape")
    func hostileNPY() throws {
        func npy(_ shape: String, body: Int) -> Data {
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            let n = header.utf8.count
            return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)]) + Data(header.utf8)
                + Data(count: body)
        }
        for (shape, body) in [("(-3, 4)", 48), ("(4294967296, 4294967296, 16)", 0), ("(3, 4)", 47), ("(3, x)", 48)] {
            #expect(throws: TensorStoreError.self, "shape \(shape)") {
                try NPY.parse(npy(shape, body: body), path: "h.npy")
            }
        }
        #expect(try NPY.parse(npy("(3, 4)", body: 48), path: "ok.npy").values.count == 12)
    }

    @Test(".npy files round-trip and carry numpy's header (version 1.0, 64-byte aligned)")
    func npy() throws {
        let values: [Float] = (0..<12).map { Float($0) * 0.25 - 1 }
        let data = NPY.encode(values, shape: [3, 4])
        #expect(data.prefix(8) == Data([0x93] + Array("NUMPY".utf8) + [1, 0]))
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        #expect(
            header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }") && header.hasSuffix("\n"))
        let back = try NPY.parse(data, path: "x.npy")
        #expect(back.shape == [3, 4] && back.values == values && back.dtype == "<f4")
        #expect(throws: TensorStoreError.self) { try NPY.parse(Data("nope".utf8), path: "bad.npy") }
    }
}
