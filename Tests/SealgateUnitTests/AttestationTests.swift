import Attestation
import Crypto
import Foundation
import SealgateCore
import Testing

@Suite("Mock evidence: verification and appraisal, accept and reject vectors")
struct AttestationTests {
    static let signer = P256.Signing.PrivateKey()
    static let measurement = MockMeasurement(executableDigest: String(repeating: "11", count: 48), policyDigest: String(repeating: "22", count: 32))
    static let reportData = Data(SHA512.hash(data: Data("runtime".utf8)))
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func appraiser(accept mock: Bool = true, measurements: [String]? = nil, minSVN: Int = 1, signers: [P256.Signing.PublicKey]? = nil) -> Appraiser {
        Appraiser(
            referenceValues: ReferenceValues(
                sets: [ReferenceValueSet(id: "dev", tee: .mock, measurements: measurements ?? [measurement.measurement], minSVN: minSVN)],
                acceptMockEvidence: mock),
            verifiers: [MockEvidenceVerifier(trustedSigners: signers ?? [signer.publicKey])])
    }

    static func evidence(debug: Bool = false, svn: Int = 1, key: P256.Signing.PrivateKey = signer, at time: Date = now) throws -> Evidence {
        try MockTEE(signingKey: key, measurement: measurement, debug: debug, svn: svn).evidence(reportData: reportData, initDataDigest: nil, now: time)
    }

    @Test("Expected evidence appraises as warning (mock), matching its reference set")
    func accepted() throws {
        let result = Self.appraiser().appraise(try Self.evidence(), reportData: .equals(Self.reportData), now: Self.now)
        #expect(result.status == .warning)
        #expect(result.failures.isEmpty)
        #expect(result.referenceValueSet == "dev")
        #expect(result.measurement == Self.measurement.measurement)
        #expect(result.trustworthiness.executables == 2)
        #expect(result.trustworthiness.hardware == 32)
        #expect(result.evidenceDigest.hasPrefix("sha-256:"))
    }

    @Test("allowed_platforms: only listed platforms match a set (the signer id; SNP CHIP_ID, mock key thumbprint)")
    func allowedPlatforms() throws {
        let thumbprint = CompactJWS.thumbprint(Self.signer.publicKey)
        func appraise(_ platforms: [String]?) throws -> AttestationResult {
            let set = ReferenceValueSet(
                id: "dev", tee: .mock, measurements: [Self.measurement.measurement], minSVN: 1, allowedPlatforms: platforms)
            return Appraiser(
                referenceValues: ReferenceValues(sets: [set], acceptMockEvidence: true),
                verifiers: [MockEvidenceVerifier(trustedSigners: [Self.signer.publicKey])]
            ).appraise(try Self.evidence(), reportData: .equals(Self.reportData), now: Self.now)
        }
        #expect(try appraise([thumbprint.uppercased()]).status == .warning)
        let refused = try appraise(["0123abcd"])
        #expect(refused.status == .contraindicated && refused.failures.map(\.reason) == [.platformNotAllowed])
        #expect(refused.trustworthiness.instanceIdentity == 96)
        let decoded = try JSONDecoder().decode(
            ReferenceValueSet.self, from: Data(#"{"id": "p", "tee": "snp", "measurements": [], "allowed_platforms": ["AB"]}"#.utf8))
        #expect(decoded.allowedPlatforms == ["AB"])
    }

    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let reason: String
        var testDescription: String { name }
    }

    static let rejects: [Vector] = [
        Vector(name: "unknown measurement", reason: "measurement_unknown"),
        Vector(name: "debug enabled", reason: "debug_enabled"),
        Vector(name: "SVN below minimum", reason: "tcb_out_of_date"),
        Vector(name: "wrong nonce binding", reason: "report_data_mismatch"),
        Vector(name: "unknown signer", reason: "unknown_signer"),
        Vector(name: "mock evidence under a production policy", reason: "mock_evidence_not_accepted"),
        Vector(name: "stale evidence", reason: "evidence_expired"),
        Vector(name: "forged signature", reason: "signature_invalid"),
        Vector(name: "not a JWS", reason: "malformed_evidence"),
        Vector(name: "non-canonical base64 in the signature", reason: "malformed_evidence"),
    ]

    @Test("Rejected evidence is contraindicated with its reason", arguments: rejects)
    func rejected(_ v: Vector) throws {
        var appraiser = Self.appraiser()
        var evidence = try Self.evidence()
        var expected = ReportDataExpectation.equals(Self.reportData)
        switch v.name {
        case "unknown measurement": appraiser = Self.appraiser(measurements: [String(repeating: "ab", count: 48)])
        case "debug enabled": evidence = try Self.evidence(debug: true)
        case "SVN below minimum": appraiser = Self.appraiser(minSVN: 5)
        case "wrong nonce binding": expected = .equals(Data(SHA512.hash(data: Data("other".utf8))))
        case "unknown signer": evidence = try Self.evidence(key: P256.Signing.PrivateKey())
        case "mock evidence under a production policy": appraiser = Self.appraiser(accept: false)
        case "stale evidence": evidence = try Self.evidence(at: Self.now.addingTimeInterval(-3600))
        case "forged signature":
            // Change a character in the middle of the signature (the last one may carry only padding bits).
            var chars = Array(String(decoding: evidence.bytes, as: UTF8.self))
            let i = chars.count - 20
            chars[i] = chars[i] == "A" ? "B" : "A"
            evidence = Evidence(tee: .mock, bytes: Data(String(chars).utf8))
        case "not a JWS": evidence = Evidence(tee: .mock, bytes: Data("garbage".utf8))
        case "non-canonical base64 in the signature":
            // Same signature bytes, different text: set padding bits in the last character.
            var chars = Array(String(decoding: evidence.bytes, as: UTF8.self))
            let last = chars.count - 1
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            if let v = alphabet.firstIndex(of: chars[last]) { chars[last] = alphabet[v | 1] == chars[last] ? alphabet[v | 2] : alphabet[v | 1] }
            evidence = Evidence(tee: .mock, bytes: Data(String(chars).utf8))
        default: Issue.record("unhandled vector")
        }
        let result = appraiser.appraise(evidence, reportData: expected, now: Self.now)
        #expect(result.status == .contraindicated)
        #expect(result.failures.map(\.reason.rawValue).contains(v.reason), "\(result.failures)")
    }

    @Test("Changing the executable or the policy changes the measurement")
    func measurementInputs() {
        let a = MockMeasurement(executableDigest: String(repeating: "11", count: 48), policyDigest: String(repeating: "22", count: 32))
        let b = MockMeasurement(executableDigest: String(repeating: "12", count: 48), policyDigest: String(repeating: "22", count: 32))
        let c = MockMeasurement(executableDigest: String(repeating: "11", count: 48), policyDigest: String(repeating: "23", count: 32))
        #expect(Set([a.measurement, b.measurement, c.measurement]).count == 3)
        #expect(a.measurement.count == 96)
    }

    @Test("A measurement claim that does not match its components is malformed")
    func inconsistentClaims() throws {
        let claims = MockEvidenceClaims(
            tee: "mock", measurement: String(repeating: "00", count: 48), executableDigest: Self.measurement.executableDigest,
            policyDigest: Self.measurement.policyDigest, reportData: Base64URL.encode(Self.reportData), debug: false, svn: 1,
            initDataDigest: "", iat: Int(Self.now.timeIntervalSince1970))
        let token = try CompactJWS.sign(payload: JSONEncoder().encode(claims), header: ["kid": CompactJWS.thumbprint(Self.signer.publicKey)], key: Self.signer)
        let outcome = MockEvidenceVerifier(trustedSigners: [Self.signer.publicKey]).verify(Evidence(tee: .mock, bytes: Data(token.utf8)), now: Self.now)
        #expect(outcome == .rejected([AttestationFailure(.malformedEvidence, "measurement does not match its components")]))
    }
}
