import Crypto
import Foundation
import SealgateCore

/// The claims a mock TEE signs. The format is documented in `docs/protocol.md`.
public struct MockEvidenceClaims: Codable, Sendable, Equatable {
    /// Always `"mock"`.
    public var tee: String
    /// Hex SHA-384 over the executable digest and the policy digest, or set directly (both components empty).
    public var measurement: String
    /// Hex SHA-384 of the running executable; empty when the measurement is set directly.
    public var executableDigest: String
    /// Hex SHA-256 of the policy bundle; empty when the measurement is set directly.
    public var policyDigest: String
    /// Base64url of the 64-byte REPORT_DATA.
    public var reportData: String
    public var debug: Bool
    public var svn: Int
    /// Hex of the init-data digest, or empty.
    public var initDataDigest: String
    /// Seconds since 1970.
    public var iat: Int

    /// Creates claims (other tools producing mock evidence use this shape).
    public init(
        tee: String, measurement: String, executableDigest: String, policyDigest: String, reportData: String, debug: Bool,
        svn: Int, initDataDigest: String, iat: Int
    ) {
        self.tee = tee
        self.measurement = measurement
        self.executableDigest = executableDigest
        self.policyDigest = policyDigest
        self.reportData = reportData
        self.debug = debug
        self.svn = svn
        self.initDataDigest = initDataDigest
        self.iat = iat
    }

    enum CodingKeys: String, CodingKey {
        case tee, measurement, debug, svn, iat
        case executableDigest = "executable_digest"
        case policyDigest = "policy_digest"
        case reportData = "report_data"
        case initDataDigest = "init_data_digest"
    }
}

/// A development TEE: signs evidence with a software key (`InsecureMockEvidence`), measuring the running
/// executable and the policy bundle so that changing either changes the measurement, as on hardware.
public struct MockTEE: Sendable {
    /// The development signing key; whoever holds it can forge evidence, which is why production policies
    /// refuse mock evidence.
    public let signingKey: P256.Signing.PrivateKey
    public let measurement: MockMeasurement
    public let debug: Bool
    public let svn: Int
    /// The init-data digest this TEE was "started with" (SHA-256 of the init-data document), carried in its evidence
    /// as hardware carries HOST_DATA / MRCONFIGID; `nil` for none.
    public let initDataDigest: Data?

    public init(
        signingKey: P256.Signing.PrivateKey, measurement: MockMeasurement, debug: Bool = false, svn: Int = 1, initDataDigest: Data? = nil
    ) {
        self.signingKey = signingKey
        self.measurement = measurement
        self.debug = debug
        self.svn = svn
        self.initDataDigest = initDataDigest
    }

    /// The key id verifiers use to find the trusted signer.
    public var signerID: String { CompactJWS.thumbprint(signingKey.publicKey) }

    /// Produces evidence binding `reportData` (64 bytes) and an init-data digest: `initDataDigest`, else the one this
    /// TEE was started with (``initDataDigest``), as hardware always reports its HOST_DATA / MRCONFIGID.
    /// - Throws: ``AttestationError`` if `reportData` is not 64 bytes or signing fails.
    public func evidence(reportData: Data, initDataDigest: Data? = nil, now: Date) throws -> Evidence {
        guard reportData.count == 64 else { throw AttestationError(.malformedEvidence, "REPORT_DATA must be 64 bytes") }
        let claims = MockEvidenceClaims(
            tee: "mock", measurement: measurement.measurement, executableDigest: measurement.executableDigest,
            policyDigest: measurement.policyDigest, reportData: Base64URL.encode(reportData), debug: debug, svn: svn,
            initDataDigest: (initDataDigest ?? self.initDataDigest).map { Hex.encode($0) } ?? "", iat: Int(now.timeIntervalSince1970))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload: Data
        do { payload = try encoder.encode(claims) } catch {
            throw AttestationError(.malformedEvidence, "mock claims could not be encoded")
        }
        let token = try CompactJWS.sign(
            payload: payload, header: ["typ": "sealgate-mock-evidence+jws", "kid": signerID], key: signingKey)
        return Evidence(tee: .mock, bytes: Data(token.utf8))
    }
}

/// Verifies mock evidence against a set of trusted development signers.
public struct MockEvidenceVerifier: AttestationVerifier {
    public let tee = TEEType.mock
    let trusted: [String: P256.Signing.PublicKey]
    /// Evidence older than this is rejected.
    public let maxAge: TimeInterval

    public init(trustedSigners: [P256.Signing.PublicKey], maxAge: TimeInterval = 300) {
        var map = [String: P256.Signing.PublicKey]()
        for key in trustedSigners { map[CompactJWS.thumbprint(key)] = key }
        self.trusted = map
        self.maxAge = maxAge
    }

    public func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome {
        guard evidence.tee == .mock else {
            return .rejected([AttestationFailure(.unsupportedEvidence, "not mock evidence")])
        }
        guard let raw = String(data: evidence.bytes, encoding: .utf8),
            let parsed = try? CompactJWS.parse(raw.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            return .rejected([AttestationFailure(.malformedEvidence, "mock evidence is not a compact ES256 JWS")])
        }
        guard let kid = parsed.header["kid"], let key = trusted[kid] else {
            return .rejected([AttestationFailure(.unknownSigner, "mock evidence signed by an untrusted key")])
        }
        guard CompactJWS.isValid(parsed, key: key) else {
            return .rejected([AttestationFailure(.signatureInvalid, "mock evidence signature does not verify")])
        }
        guard let claims = try? JSONDecoder().decode(MockEvidenceClaims.self, from: parsed.payload),
            claims.tee == "mock", let reportData = Base64URL.decode(claims.reportData), reportData.count == 64
        else { return .rejected([AttestationFailure(.malformedEvidence, "mock claims are malformed")]) }
        let age = now.timeIntervalSince1970 - Double(claims.iat)
        guard age <= maxAge, age >= -60 else {
            return .rejected([AttestationFailure(.evidenceExpired, "mock evidence is outside its freshness window")])
        }
        if claims.executableDigest.isEmpty && claims.policyDigest.isEmpty {
            // A measurement set directly (MockMeasurement(measurement:)): 48 bytes of lowercase hex, no components.
            guard MockMeasurement(measurement: claims.measurement)?.measurement == claims.measurement else {
                return .rejected([AttestationFailure(.malformedEvidence, "a direct measurement must be 48 bytes of lowercase hex")])
            }
        } else {
            let recomputed = MockMeasurement.combine(
                executableDigest: claims.executableDigest, policyDigest: claims.policyDigest)
            guard recomputed == claims.measurement else {
                return .rejected([AttestationFailure(.malformedEvidence, "measurement does not match its components")])
            }
        }
        let initData: Data? = claims.initDataDigest.isEmpty ? nil : Hex.decode(claims.initDataDigest)
        return .verified(
            VerifiedClaims(
                tee: .mock, measurement: claims.measurement, reportData: reportData, initDataDigest: initData,
                debug: claims.debug, svn: claims.svn, signerID: kid))
    }
}
