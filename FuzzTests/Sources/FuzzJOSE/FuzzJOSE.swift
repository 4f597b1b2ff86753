// JOSE: every input is parsed as a compact JWE and as flattened JWE JSON; what parses is rendered back and
// decrypted with the fixed keys its `alg` could use (and with one key of the wrong type). The input is also decoded
// as a JWK, validated, thumbprinted, and used as a recipient: encrypt to it, decrypt with it when it is private.
import Crypto
import Foundation
import FuzzSupport
import JOSE

/// The fixed keys: deterministic EC and oct keys, plus every key of the repository's JOSE vectors (RFC 7520 §5,
/// the jwcrypto interop vector) so that their JWEs decrypt all the way.
func fixedKeys() -> [JWK] {
    var keys: [JWK] = [
        JWK.ec(try! P256.KeyAgreement.PrivateKey(rawRepresentation: Data(repeating: 0x11, count: 32))),
        JWK.ec(try! P384.KeyAgreement.PrivateKey(rawRepresentation: Data(repeating: 0x11, count: 48))),
        JWK.ec(try! P521.KeyAgreement.PrivateKey(rawRepresentation: Data([0x01] + Array(repeating: 0x11, count: 65)))),
        JWK.oct(SymmetricKey(data: Data(repeating: 0x33, count: 16))),
        JWK.oct(SymmetricKey(data: Data(repeating: 0x44, count: 32))),
    ]
    for (file, data) in joseVectors() {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
        var found: [Any] = [object["key"] as Any]
        for example in object["examples"] as? [[String: Any]] ?? [] { found.append(example["key"] as Any) }
        for case let key as [String: Any] in found {
            guard let json = try? JSONSerialization.data(withJSONObject: key),
                let jwk = try? JSONDecoder().decode(JWK.self, from: json)
            else {
                continue
            }
            if !keys.contains(jwk) { keys.append(jwk) }
        }
        _ = file
    }
    return keys
}

/// The repository's JOSE test vectors (`SEALGATE_REPO`/Tests/JOSETests/Vectors; the repository is `..` of FuzzTests).
func joseVectors() -> [(String, Data)] {
    let repo = ProcessInfo.processInfo.environment["SEALGATE_REPO"] ?? ".."
    let folder = URL(fileURLWithPath: repo).appendingPathComponent("Tests/JOSETests/Vectors")
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter {
        $0.hasSuffix(".json")
    }.sorted()
    return names.compactMap { name in
        FileManager.default.contents(atPath: folder.appendingPathComponent(name).path).map { (name, $0) }
    }
}

func isJOSETyped(_ error: any Error) -> Bool { error is JOSEError }

@main
enum FuzzJOSE {
    static func main() {
        let keys = fixedKeys()
        Fuzz.log("FuzzJOSE: \(keys.count) fixed keys (\(keys.map(\.kty).joined(separator: ",")))")
        let wrongType = keys.first { $0.kty == "oct" }!

        func process(_ jwe: FlattenedJWE, _ form: String) {
            let header =
                Fuzz.typed("JWE.protectedHeader(\(form))", isJOSETyped) { try JWE.protectedHeader(of: jwe) } ?? [:]
            Fuzz.typed("FlattenedJWE.compact(\(form))", isJOSETyped) { _ = try jwe.compact }
            Fuzz.typed("FlattenedJWE.jsonData(\(form))", { _ in true }) { _ = try jwe.jsonData() }
            let alg = header["alg"] ?? jwe.unprotected?["alg"] ?? jwe.header?["alg"]
            let kty = alg.flatMap { KeyManagementAlgorithm(rawValue: $0)?.keyType }
            let kid = header["kid"] ?? jwe.unprotected?["kid"] ?? jwe.header?["kid"]
            var candidates = keys.filter { $0.kty == kty }
            if let kid, candidates.contains(where: { $0.kid == kid }) {
                candidates = candidates.filter { $0.kid == kid }
            }
            for key in candidates + [wrongType] {
                Fuzz.typed("JWE.decrypt(\(form))", isJOSETyped) { _ = try JWE.decryptWithHeader(jwe, with: key) }
            }
        }

        Fuzz.run(
            "FuzzJOSE",
            seeds: {
                var seeds: [String: Data] = [:]
                let plaintext = Data("fuzz seed plaintext".utf8)
                for (i, key) in keys.enumerated() {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    seeds["jwk-\(i)-private.json"] = try? encoder.encode(key)
                    seeds["jwk-\(i)-public.json"] = try? encoder.encode(key.publicJWK)
                    for alg in KeyManagementAlgorithm.allCases where alg.keyType == key.kty {
                        for enc in ContentEncryption.allCases {
                            guard
                                let jwe = try? JWE.encrypt(
                                    plaintext, to: key, algorithm: alg, encryption: enc,
                                    extraHeader: ["kid": key.kid ?? "k\(i)"])
                            else {
                                continue
                            }
                            let name = "\(i)-\(alg.rawValue)-\(enc.rawValue)"
                            seeds["jwe-\(name).json"] = try? jwe.jsonData()
                            if let compact = try? jwe.compact { seeds["jwe-\(name).txt"] = Data(compact.utf8) }
                        }
                    }
                }
                // The repository's vectors, as compact text and flattened JSON.
                for (file, data) in joseVectors() {
                    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                    var jwes: [[String: Any]] = []
                    if let jwe = object["jwe"] as? [String: Any] { jwes.append(jwe) }
                    for example in object["examples"] as? [[String: Any]] ?? [] {
                        if let compact = example["compact"] as? String {
                            seeds["vector-\(file)-\(example["section"] ?? "")-compact.txt"] = Data(compact.utf8)
                        }
                        var jwe: [String: Any] = [:]
                        for member in [
                            "protected", "unprotected", "header", "encrypted_key", "aad", "iv", "ciphertext", "tag",
                        ] { jwe[member] = example[member] }
                        jwes.append(jwe)
                    }
                    for (i, jwe) in jwes.enumerated() {
                        seeds["vector-\(file)-\(i).json"] = try? JSONSerialization.data(
                            withJSONObject: jwe, options: [.sortedKeys])
                    }
                }
                return seeds
            },
            body: { data in
                let text = String(decoding: data, as: UTF8.self)
                if let jwe = Fuzz.typed("FlattenedJWE.init(compact:)", isJOSETyped, { try FlattenedJWE(compact: text) })
                {
                    process(jwe, "compact")
                }
                if let jwe = Fuzz.typed("FlattenedJWE.init(json:)", isJOSETyped, { try FlattenedJWE(json: data) }) {
                    process(jwe, "json")
                }

                // A JWK (Foundation's Codable errors are the decoder's, not JOSE's: any is fine there).
                guard let jwk = try? JSONDecoder().decode(JWK.self, from: data) else { return }
                _ = (jwk.publicJWK, jwk.isPrivate)
                guard let key = Fuzz.typed("JWK.validated", isJOSETyped, { try jwk.validated() }) else { return }
                Fuzz.typed("JWK.thumbprint", isJOSETyped) { _ = try key.thumbprint() }
                if let jwe = Fuzz.typed(
                    "JWE.encrypt(to fuzzed JWK)", isJOSETyped, { try JWE.encrypt(Data("x".utf8), to: key) }),
                    key.isPrivate
                {
                    Fuzz.typed("JWE.decrypt(with fuzzed JWK)", isJOSETyped) { _ = try JWE.decrypt(jwe, with: key) }
                }
            })
    }
}
