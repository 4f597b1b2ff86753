import Attestation
import Crypto
import Foundation
import SealgateCore
import Testing

@Suite("Mock evidence with a directly set measurement")
struct MockDirectMeasurementTests {
    @Test("A direct 48-byte measurement verifies as the claim; malformed ones are refused, composed ones still verify")
    func direct() throws {
        let key = P256.Signing.PrivateKey()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let hex = String(repeating: "5a", count: 48)
        let direct = try #require(MockMeasurement(measurement: hex.uppercased()))
        #expect(direct.measurement == hex && direct.isDirect)
        #expect(MockMeasurement(measurement: "abcd") == nil && MockMeasurement(measurement: String(repeating: "zz", count: 48)) == nil)
        let verifier = MockEvidenceVerifier(trustedSigners: [key.publicKey])
        let evidence = try MockTEE(signingKey: key, measurement: direct, svn: 4).evidence(reportData: Data(count: 64), now: now)
        guard case .verified(let claims) = verifier.verify(evidence, now: now) else {
            Issue.record("direct measurement rejected")
            return
        }
        #expect(claims.measurement == hex && claims.svn == 4)
        let composed = MockMeasurement(executableDigest: String(repeating: "a1", count: 48), policyDigest: String(repeating: "b2", count: 32))
        #expect(!composed.isDirect)
        let old = try MockTEE(signingKey: key, measurement: composed).evidence(reportData: Data(count: 64), now: now)
        guard case .verified(let oldClaims) = verifier.verify(old, now: now) else {
            Issue.record("composed measurement rejected")
            return
        }
        #expect(oldClaims.measurement == composed.measurement)
        // Signed claims with empty components but a short measurement: refused.
        let claimsJSON = #"{"debug":false,"executable_digest":"","iat":1800000000,"init_data_digest":"","measurement":"abcd","policy_digest":"","report_data":"\#(Base64URL.encode(Data(count: 64)))","svn":1,"tee":"mock"}"#
        let token = try CompactJWS.sign(
            payload: Data(claimsJSON.utf8), header: ["typ": "sealgate-mock-evidence+jws", "kid": CompactJWS.thumbprint(key.publicKey)], key: key)
        guard case .rejected(let failures) = verifier.verify(Evidence(tee: .mock, bytes: Data(token.utf8)), now: now) else {
            Issue.record("a short direct measurement verified")
            return
        }
        #expect(failures.map(\.reason) == [.malformedEvidence])
    }
}
