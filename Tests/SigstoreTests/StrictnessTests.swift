import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import Sigstore

/// Issue #15, from a review against sigstore-python, sigstore-go and cosign: inputs this verifier accepted and a
/// standards-exact one refuses. Names and identities compare as bytes, not as Swift strings (Unicode canonical
/// equivalence); bundle versions allow only their own material; duplicate JSON keys are refused.
@Suite("Sigstore: strict names, identities, versions and JSON")
struct StrictnessTests {
    /// A model directory with `files` (name, contents) in a fresh temporary directory (not a dictionary: Swift
    /// would take two canonically equivalent names for one key).
    static func directory(_ files: [(String, String)]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, contents) in files { try Data(contents.utf8).write(to: url.appendingPathComponent(name)) }
        return url
    }

    static func resource(_ name: String, _ contents: String) -> ModelSignatureVerifier.Resource {
        ModelSignatureVerifier.Resource(name: name, digest: Data(SHA256.hash(data: Data(contents.utf8))))
    }

    static func reason(_ body: () throws -> Void) -> SigstoreReason? {
        do { try body() } catch let error as SigstoreError { return error.reason } catch { return nil }
        return nil
    }

    @Test(
        "An unsigned file whose name is only canonically equivalent to a signed one is an extra file",
        arguments: [("Kernel.bin", "\u{212A}ernel.bin"), ("caf\u{E9}.bin", "cafe\u{301}.bin"), ("a;b", "a\u{37E}b")])
    func equivalentNames(_ signed: String, _ twin: String) throws {
        #expect(Array(signed.utf8) != Array(twin.utf8), "the two names differ as bytes")
        #expect(signed == twin, "Swift takes the two names for equal: the case the test is about")
        let dir = try Self.directory([(signed, "weights"), (twin, "EVIL")])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try ModelDirectory.files(in: dir, ignoring: []).count == 2)
        let reason = Self.reason { try ModelDirectory.check(dir, against: [Self.resource(signed, "weights")], ignoring: [], parallelism: 2) }
        #expect(reason == .modelExtraFile)
        // Signed as two files, both present: verified; the twin alone is not the signed file.
        #expect(Self.reason { try ModelDirectory.check(dir, against: [Self.resource(signed, "weights"), Self.resource(twin, "EVIL")], ignoring: [], parallelism: 2) } == nil)
        // An ignore entry hides only the name it spells.
        #expect(Self.reason { try ModelDirectory.check(dir, against: [Self.resource(signed, "weights")], ignoring: [signed], parallelism: 2) } == .modelExtraFile)
        #expect(Self.reason { try ModelDirectory.check(dir, against: [Self.resource(signed, "weights")], ignoring: [twin], parallelism: 2) } == nil)
        try FileManager.default.removeItem(at: dir.appendingPathComponent(signed))
        #expect(Self.reason { try ModelDirectory.check(dir, against: [Self.resource(signed, "weights")], ignoring: [], parallelism: 2) } == .modelExtraFile)
    }

    /// A leaf certificate with an e-mail SAN and Fulcio's v2 OIDC issuer extension.
    static func leaf(email: String, issuer: String) throws -> Certificate {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("strict") }
        var serializer = DER.Serializer()
        try serializer.serialize(ASN1UTF8String(issuer))
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now - 60, notValidAfter: now + 600,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.rfc822Name(email)])
                Certificate.Extension(oid: IdentityPolicy.issuerV2, critical: false, value: serializer.serializedBytes[...])
            }, issuerPrivateKey: .init(key))
    }

    @Test("An exact identity or issuer matches byte for byte: a Kelvin sign or an NFD form does not pass for the policy's value")
    func exactIdentityBytes() throws {
        let policy = try IdentityPolicy(identity: .exact("alice@example.com"), issuer: .exact("https://Keycloak.example/jos\u{E9}"))
        #expect(Self.reason { try policy.check(try Self.leaf(email: "alice@example.com", issuer: "https://Keycloak.example/jos\u{E9}")) } == nil)
        for odd in ["https://\u{212A}eycloak.example/jos\u{E9}", "https://Keycloak.example/jose\u{301}"] {
            #expect(odd == "https://Keycloak.example/jos\u{E9}", "equal as Swift strings: the case the test is about")
            #expect(Self.reason { try policy.check(try Self.leaf(email: "alice@example.com", issuer: odd)) } == .identityMismatch, "\(odd)")
        }
        // The regular expression form matches code points, as RE2 does for cosign.
        let regex = try IdentityPolicy(identity: .exact("alice@example.com"), issuer: .regex("https://Keycloak\\.example/jos."))
        #expect(Self.reason { try regex.check(try Self.leaf(email: "alice@example.com", issuer: "https://Keycloak.example/jos\u{E9}")) } == nil)
        #expect(Self.reason { try regex.check(try Self.leaf(email: "alice@example.com", issuer: "https://\u{212A}eycloak.example/jos\u{E9}")) } == .identityMismatch)
        #expect(Self.reason { try regex.check(try Self.leaf(email: "alice@example.com", issuer: "https://Keycloak.example/jose\u{301}")) } == .identityMismatch)
    }

    /// A shared vector bundle's JSON, edited.
    static func edited(_ relative: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        var object = try #require(try JSONSerialization.jsonObject(with: try SigstoreVectors.data(relative)) as? [String: Any])
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test("Material and promises by version: 'certificate' only from v0.3, an inclusion promise required in v0.1")
    func versionRules() throws {
        guard SigstoreVectors.present else {
            Issue.record("../shared/vectors/sigstore is absent: the bundle version rules were not checked")
            return
        }
        // bundle_v3 carries `certificate`: as v0.2 or v0.1 it is refused, as v0.3 it parses.
        #expect(Self.reason { _ = try SigstoreBundle(json: try SigstoreVectors.data("blob/bundle_v3.txt.sigstore")) } == nil)
        for older in ["0.1", "0.2"] {
            let bundle = try Self.edited("blob/bundle_v3.txt.sigstore") { $0["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=\(older)" }
            #expect(Self.reason { _ = try SigstoreBundle(json: bundle) } == .invalidVerificationMaterial, "\(older)")
        }
        // The v0.1 bundle parses; without its inclusion promise it does not, though a v0.2 bundle may lack one.
        #expect(Self.reason { _ = try SigstoreBundle(json: try SigstoreVectors.data("blob/bundle.txt.sigstore")) } == nil)
        func withoutPromise(_ object: inout [String: Any]) {
            guard var material = object["verificationMaterial"] as? [String: Any], var entries = material["tlogEntries"] as? [[String: Any]] else { return }
            for i in entries.indices { entries[i]["inclusionPromise"] = nil }
            material["tlogEntries"] = entries
            object["verificationMaterial"] = material
        }
        let bare = try Self.edited("blob/bundle.txt.sigstore", withoutPromise)
        #expect(Self.reason { _ = try SigstoreBundle(json: bare) } == .malformedBundle)
        let asV02 = try Self.edited("blob/bundle.txt.sigstore") {
            withoutPromise(&$0)
            $0["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2"
        }
        #expect(Self.reason { _ = try SigstoreBundle(json: asV02) } == nil)
    }

    @Test("A key repeated in any object of the bundle, the log entry body or the in-toto statement is refused")
    func duplicateKeys() throws {
        let objects: [(String, Bool)] = [
            (#"{"a":1,"b":2}"#, true), (#"{"a":1,"a":1}"#, false), (#"{"a":1,"\u0061":2}"#, false), (#"{"a":{"b":1},"c":{"b":2}}"#, true),
            (#"{"x":[{"k":1,"k":2}]}"#, false), (#"{"publicKey":1,"public\u212Aey":2}"#, false), (#"{"\ud83d\ude00":1,"😀":2}"#, false),
            (#"{"\ud83d":1}"#, false), (#"{"a":"\"}"}"#, true), (#"[1, 2.5e3, true, null, "s", {}]"#, true), (#"{"a":1,}"#, false),
            (#"{"a" 1}"#, false), ("", false), (#"{"a":1} x"#, false), (String(repeating: "[", count: 600) + String(repeating: "]", count: 600), false),
        ]
        for (text, ok) in objects {
            let refused = Self.reason { try StrictJSON.requireUniqueKeys(Data(text.utf8), reason: .malformedBundle, what: "t") }
            #expect((refused == nil) == ok, "\(text)")
        }
        guard SigstoreVectors.present else {
            Issue.record("../shared/vectors/sigstore is absent: duplicate keys in real bundles were not checked")
            return
        }
        let real = try SigstoreVectors.data("blob/bundle_v3.txt.sigstore")
        let text = String(decoding: real, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.hasSuffix("}"))
        let doubled = Data((text.dropLast() + #", "mediaType": "garbage"}"#).utf8)
        #expect(Self.reason { _ = try SigstoreBundle(json: doubled) } == .malformedBundle)
        #expect(Self.reason { _ = try SigstoreBundle(json: real) } == nil)
    }
}
