import Foundation
import Sigstore
import Testing

/// Every field of real bundles mutated, one at a time: the verifier must refuse each mutation.
@Suite("Sigstore: every field of a real bundle mutated is refused")
struct MutationTests {
    /// Positive cases whose bundles are walked.
    static let walked = ["blob-v0.3-staging-rekor1-ok", "blob-v0.1-staging-rekor1-ok", "blob-v0.3-staging-rekor2-tsa-ok", "dsse-staging-rekor2-hashedrekord-ok"]

    /// A path into the JSON and the mutated value.
    typealias Mutation = (path: String, bundle: Data)

    /// One mutation per leaf: base64 → one bit flipped in the decoded bytes, other strings → a character
    /// appended, numbers → incremented, and each object key removed.
    static func mutations(of json: Any, path: String = "", rebuild: @escaping (Any?) -> Any) -> [(String, Any)] {
        var out: [(String, Any)] = []
        switch json {
        case let object as [String: Any]:
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                out.append(("\(path).\(key) removed", rebuild(object.filter { $0.key != key })))
                out += mutations(of: value, path: "\(path).\(key)") { replacement in
                    var copy = object
                    copy[key] = replacement
                    return rebuild(copy)
                }
            }
        case let array as [Any]:
            for (index, value) in array.enumerated() {
                out += mutations(of: value, path: "\(path)[\(index)]") { replacement in
                    var copy = array
                    copy[index] = replacement ?? NSNull()
                    return rebuild(copy)
                }
            }
        case let text as String:
            if let n = Int64(text), String(n) == text {
                out.append(("\(path) changed", rebuild(String(n + 1))))
            } else if var bytes = Data(base64Encoded: text), !bytes.isEmpty, text.count >= 8 {
                bytes[bytes.count / 2] ^= 0x01
                out.append(("\(path) bit flipped", rebuild(bytes.base64EncodedString())))
            } else {
                out.append(("\(path) changed", rebuild(text + "x")))
            }
        case let number as NSNumber:
            out.append(("\(path) incremented", rebuild(NSNumber(value: number.int64Value + 1))))
        default: break
        }
        return out
    }

    /// Fields no signature covers, so changing them changes nothing: the DSSE key id (a hint), the optional
    /// message digest (the signature itself is over the artifact), and the middle byte of an RFC 3161 token, which
    /// lies in the token's embedded certificate set (unused: the TSA's chain comes from the trusted root).
    static func unsigned(_ path: String) -> Bool {
        path.contains(".keyid") || path.hasSuffix(".messageDigest removed") || path.hasSuffix(".signedTimestamp bit flipped")
    }

    @Test("Each single-field mutation of four real bundles is refused", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the Sigstore vector cases cannot run"))
    func everyField() throws {
        let cases = Dictionary(uniqueKeysWithValues: try SigstoreVectors.cases().map { ($0.name, $0) })
        var total = 0
        for name in Self.walked {
            let c = try #require(cases[name])
            #expect(try SigstoreVectors.run(c) == nil, "\(name) must verify unmutated")
            let original = try JSONSerialization.jsonObject(with: try SigstoreVectors.data(c.bundle))
            for (path, mutated) in Self.mutations(of: original, rebuild: { $0 ?? NSNull() }) where !Self.unsigned(path) {
                let json = try JSONSerialization.data(withJSONObject: mutated)
                let refusal = try SigstoreVectors.runBundle(c, bundle: json)
                #expect(refusal != nil, "\(name): \(path) was accepted")
                total += 1
            }
        }
        #expect(total > 150, "only \(total) mutations")
    }

    /// Named fields of the Rekor v1 bundle and the reason each mutation must give.
    static let named: [(String, SigstoreReason)] = [
        (".mediaType changed", .unknownMediaType),
        (".messageSignature.signature bit flipped", .signatureInvalid),
        (".messageSignature.messageDigest.digest bit flipped", .digestMismatch),
        (".verificationMaterial.tlogEntries removed", .tlogEntryMissing),
        (".verificationMaterial.tlogEntries[0].logId.keyId bit flipped", .unknownTlog),
        (".verificationMaterial.tlogEntries[0].canonicalizedBody bit flipped", .tlogBodyMismatch),
        (".verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp bit flipped", .setInvalid),
        (".verificationMaterial.tlogEntries[0].integratedTime changed", .setInvalid),
        (".verificationMaterial.tlogEntries[0].logIndex changed", .setInvalid),
        (".verificationMaterial.tlogEntries[0].inclusionProof.hashes[3] bit flipped", .inclusionProofInvalid),
        (".verificationMaterial.tlogEntries[0].inclusionProof.rootHash bit flipped", .inclusionProofInvalid),
        (".verificationMaterial.tlogEntries[0].inclusionProof removed", .inclusionProofInvalid),
        (".verificationMaterial.tlogEntries[0].inclusionProof.checkpoint removed", .inclusionProofInvalid),
        (".verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope changed", .checkpointInvalid),
        (".verificationMaterial.tlogEntries[0].kindVersion.version changed", .tlogBodyMismatch),
    ]

    @Test("Named fields give their own reason", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the Sigstore vector cases cannot run"))
    func namedReasons() throws {
        let c = try #require(try SigstoreVectors.cases().first { $0.name == "blob-v0.3-staging-rekor1-ok" })
        let original = try JSONSerialization.jsonObject(with: try SigstoreVectors.data(c.bundle))
        let all = Dictionary(Self.mutations(of: original, rebuild: { $0 ?? NSNull() }), uniquingKeysWith: { a, _ in a })
        for (path, reason) in Self.named {
            let mutated = try #require(all[path], "no mutation \(path)")
            let refusal = try SigstoreVectors.runBundle(c, bundle: try JSONSerialization.data(withJSONObject: mutated))
            #expect(refusal?.reason == reason, "\(path): \(refusal.map(String.init(describing:)) ?? "accepted")")
        }
    }
}
