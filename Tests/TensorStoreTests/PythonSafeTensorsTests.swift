import Foundation
import Testing

@testable import TensorStore

@Suite("safetensors written by Python")
struct PythonSafeTensorsTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/python-written.safetensors")

    @Test("a file written by the safetensors package (Scripts/reference/safetensors_fixture.py) reads back exactly")
    func readsPythonFile() throws {
        let f = try SafeTensorsFile(Self.fixture)
        #expect(f.metadata["writer"]?.hasPrefix("safetensors ") == true)
        #expect(f.entries["yes_0a7c2a8d_nohash_0"]?.shape == [3, 4])
        #expect(try f.values("yes_0a7c2a8d_nohash_0") == (0..<12).map { (Float($0) - 5.5) / 4 })
        #expect(f.entries["_silence_training_00000"]?.dtype == .float16)
        #expect(try f.values("_silence_training_00000") == [0.5, -1, 2048, Float(Float16(1e-3))])
    }
}
