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
