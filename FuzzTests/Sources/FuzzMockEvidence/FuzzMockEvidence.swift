// Mock TEE evidence (compact ES256 JWS over the claims of docs/protocol.md). Every input is verified as evidence
// by a verifier trusting a fixed development key, parsed by CompactJWS, and, so that the claims decoder is reached
// despite the signature, re-signed with the trusted key: the payload of a parsed JWS, and the input itself as the
// payload.
import Attestation
import Crypto
import Foundation
import FuzzSupport

func check(_ site: String, _ outcome: VerificationOutcome) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

@main
enum FuzzMockEvidence {
    static func main() {
        // Fixed keys: every run and every seed agree on them.
        let trusted = try! P256.Signing.PrivateKey(rawRepresentation: Data(repeating: 0x11, count: 32))
        let untrusted = try! P256.Signing.PrivateKey(rawRepresentation: Data(repeating: 0x22, count: 32))
        let kid = CompactJWS.thumbprint(trusted.publicKey)
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let verifier = MockEvidenceVerifier(trustedSigners: [trusted.publicKey])
        let typed: (any Error) -> Bool = { $0 is AttestationError }

        Fuzz.run(
            "FuzzMockEvidence",
            seeds: {
                var seeds: [String: Data] = [:]
                let measurement = MockMeasurement(
                    executableDigest: String(repeating: "ab", count: 48),
                    policyDigest: String(repeating: "cd", count: 32))
                let reportData = Data((0..<64).map { UInt8($0) })
                let cases: [(String, P256.Signing.PrivateKey, Bool, Int, Data?, Date)] = [
                    ("valid", trusted, false, 1, nil, now),
                    (
                        "debug-init-data", trusted, true, 7, Data(repeating: 0x5a, count: 32),
                        now.addingTimeInterval(-30)
                    ),
                    ("untrusted-signer", untrusted, false, 1, nil, now),
                    ("expired", trusted, false, 2, nil, now.addingTimeInterval(-3600)),
                ]
                for (name, key, debug, svn, initData, at) in cases {
                    let tee = MockTEE(signingKey: key, measurement: measurement, debug: debug, svn: svn)
                    guard let evidence = try? tee.evidence(reportData: reportData, initDataDigest: initData, now: at)
                    else { continue }
                    seeds["jws-\(name).txt"] = evidence.bytes
                    if let token = String(data: evidence.bytes, encoding: .utf8),
                        let parsed = try? CompactJWS.parse(token)
                    {
                        seeds["claims-\(name).json"] = parsed.payload
                    }
                }
                return seeds
            },
            body: { data in
                // 1. The verifier on the raw bytes.
                check("MockEvidenceVerifier.verify", verifier.verify(Evidence(tee: .mock, bytes: data), now: now))

                // 2. The JWS parser; a parsed token's payload re-signed by the trusted key reaches the claims checks.
                let text = String(decoding: data, as: UTF8.self)
                if let parsed = Fuzz.typed("CompactJWS.parse", typed, { try CompactJWS.parse(text) }) {
                    _ = CompactJWS.isValid(parsed, key: trusted.publicKey)
                    var header = parsed.header
                    header["kid"] = kid
                    if let token = Fuzz.typed(
                        "CompactJWS.sign(parsed payload)", typed,
                        { try CompactJWS.sign(payload: parsed.payload, header: header, key: trusted) })
                    {
                        check(
                            "MockEvidenceVerifier.verify(re-signed payload)",
                            verifier.verify(Evidence(tee: .mock, bytes: Data(token.utf8)), now: now))
                    }
                }

                // 3. The input itself as the claims payload, signed by the trusted key.
                if data.count <= 8 * 1024,
                    let token = Fuzz.typed(
                        "CompactJWS.sign(input)", typed,
                        {
                            try CompactJWS.sign(
                                payload: data, header: ["kid": kid, "typ": "sealgate-mock-evidence+jws"], key: trusted)
                        })
                {
                    check(
                        "MockEvidenceVerifier.verify(input as claims)",
                        verifier.verify(Evidence(tee: .mock, bytes: Data(token.utf8)), now: now))
                }
                _ = CompactJWS.coordinates(x963: data)
            })
    }
}
