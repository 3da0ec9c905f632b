import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import Testing

@testable import Synthesis

@Suite("Manifest schema")
struct ManifestSchemaTests {
    static let schemaURL = RecipeTests.repo.appendingPathComponent("Manifests/manifest.schema.json")

    /// The keys of an object schema: (required, properties).
    static func keys(_ object: [String: Any]) -> (Set<String>, Set<String>) {
        (Set(object["required"] as? [String] ?? []), Set((object["properties"] as? [String: Any] ?? [:]).keys))
    }

    @Test("Manifests/manifest.schema.json requires exactly the keys every record carries, at every level")
    func schemaMatchesRecords() throws {
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.schemaURL)) as! [String: Any]
        let defs = schema["$defs"] as! [String: [String: Any]]
        let dir = try GenerateFixture.reference("7s")
        var sawKeyword = false, sawSilence = false
        for record in try DatasetInfo.loadManifests(dir) {
            let object = try JSONSerialization.jsonObject(with: try record.canonicalJSON()) as! [String: Any]
            let (required, properties) = Self.keys(schema)
            #expect(
                Set(object.keys) == required && required == properties,
                "\(Set(object.keys).symmetricDifference(required))")
            if let keyword = object["keyword"] as? [String: Any] {
                sawKeyword = true
                let (kr, kp) = Self.keys(defs["keyword"]!)
                #expect(Set(keyword.keys) == kr && kr == kp, "\(Set(keyword.keys).symmetricDifference(kr))")
            } else {
                sawSilence = true
                #expect(object["keyword"] is NSNull)
            }
            for segment in object["noise"] as! [[String: Any]] {
                let (sr, sp) = Self.keys(defs["segment"]!)
                #expect(Set(segment.keys) == sr && sr == sp)
            }
            #expect((object["audio_sha256"] as? String)?.count == 64)
        }
        #expect(sawKeyword && sawSilence)
    }
}
