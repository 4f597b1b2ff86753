import Foundation
import JOSE
import Testing

/// RFC 7520 §5 examples as stored in Vectors/rfc7520.json.
struct CookbookFile: Decodable {
    let plaintext: String
    let plaintextB64u: String
    let examples: [CookbookExample]

    enum CodingKeys: String, CodingKey {
        case plaintext, examples
        case plaintextB64u = "plaintext_b64u"
    }
}

struct CookbookExample: Decodable {
    let section: String
    let key: JWK
    let alg: String
    let enc: String
    let cek: String?
    let iv: String
    let ephemeralKey: JWK?
    let protected: String
    let unprotected: [String: String]?
    let encryptedKey: String?
    let aad: String?
    let ciphertext: String
    let tag: String
    let compact: String?

    enum CodingKeys: String, CodingKey {
        case section, key, alg, enc, cek, iv, protected, unprotected, aad, ciphertext, tag, compact
        case ephemeralKey = "ephemeral_key"
        case encryptedKey = "encrypted_key"
    }

    var flattened: FlattenedJWE {
        FlattenedJWE(
            protected: protected, unprotected: unprotected, encryptedKey: encryptedKey, aad: aad, iv: iv,
            ciphertext: ciphertext, tag: tag)
    }
}

struct KDFThumbprintFile: Decodable {
    struct AppendixC: Decodable {
        let aliceEphemeral: JWK
        let bob: JWK
        let algorithmID: String
        let apu: String
        let apv: String
        let keydatalen: Int
        let z: String
        let derivedKey: String

        enum CodingKeys: String, CodingKey {
            case bob, apu, apv, keydatalen
            case aliceEphemeral = "alice_ephemeral"
            case algorithmID = "algorithm_id"
            case z = "z_b64u"
            case derivedKey = "derived_key"
        }
    }

    struct Thumbprint: Decodable {
        let key: JWK
        let thumbprint: String
    }

    let appendixC: AppendixC
    let thumbprint: Thumbprint

    enum CodingKeys: String, CodingKey {
        case appendixC = "rfc7518_appendix_c"
        case thumbprint = "rfc7638_3_1"
    }
}

enum Vectors {
    static func data(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Vectors", withExtension: nil))
        return try Data(contentsOf: url.appendingPathComponent(name))
    }

    static func cookbook() throws -> CookbookFile {
        try JSONDecoder().decode(CookbookFile.self, from: data("rfc7520.json"))
    }

    static func example(_ section: String) throws -> (CookbookExample, Data) {
        let file = try cookbook()
        let example = try #require(file.examples.first { $0.section == section })
        return (example, Data(file.plaintext.utf8))
    }

    static func kdfAndThumbprint() throws -> KDFThumbprintFile {
        try JSONDecoder().decode(KDFThumbprintFile.self, from: data("kdf_thumbprint.json"))
    }
}

/// Asserts `body` throws a ``JOSEError`` with `code`.
func expectJOSEError(
    _ code: JOSEError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(code.rawValue), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as JOSEError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected JOSEError \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Base64url without padding (test-side copy, so the tests do not lean on the code under test).
func b64u(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Decodes unpadded base64url; empty data when malformed.
func unb64u(_ text: String) -> Data {
    var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base.count % 4 != 0 { base += "=" }
    return Data(base64Encoded: base) ?? Data()
}

/// Flips one bit in the decoded bytes of a base64url member.
func flipped(_ text: String, at index: Int = 0) -> String {
    var data = unb64u(text)
    if data.isEmpty { return text }
    let position = data.startIndex + min(index, data.count - 1)
    data[position] ^= 0x01
    return b64u(data)
}
