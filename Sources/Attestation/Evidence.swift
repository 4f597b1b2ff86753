import Crypto
import Foundation
import SealgateCore

/// The kind of TEE that produced evidence.
public struct TEEType: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Development evidence signed by a software key: no hardware guarantee at all.
    public static let mock = TEEType("mock")
    public static let snp = TEEType("snp")
    public static let tdx = TEEType("tdx")
    public static let nitro = TEEType("nitro")
}

/// Raw evidence as a TEE produced it.
public struct Evidence: Sendable, Equatable {
    public let tee: TEEType
    public let bytes: Data

    public init(tee: TEEType, bytes: Data) {
        self.tee = tee
        self.bytes = bytes
    }

    /// SHA-256 of the evidence bytes, hex; names the evidence in results and audit records.
    public var digest: String { "sha-256:" + Hex.encode(SHA256.hash(data: bytes)) }
}

/// Claims extracted from evidence whose signature and chain verified.
public struct VerifiedClaims: Sendable, Equatable {
    public let tee: TEEType
    /// The launch measurement, hex.
    public let measurement: String
    /// The 64-byte REPORT_DATA the TEE bound into the evidence.
    public let reportData: Data
    /// The init-data digest (HOST_DATA / MRCONFIGID), when present.
    public let initDataDigest: Data?
    /// Whether the TEE runs with debugging enabled.
    public let debug: Bool
    /// Security version number / TCB level, as one comparable integer.
    public let svn: Int
    /// The signer's key id (mock) or chip / platform id (hardware).
    public let signerID: String

    public init(
        tee: TEEType, measurement: String, reportData: Data, initDataDigest: Data?, debug: Bool, svn: Int,
        signerID: String
    ) {
        self.tee = tee
        self.measurement = measurement
        self.reportData = reportData
        self.initDataDigest = initDataDigest
        self.debug = debug
        self.svn = svn
        self.signerID = signerID
    }
}

/// One failed check, with a stable reason.
public struct AttestationFailure: Sendable, Equatable, Codable {
    public let reason: AttestationReason
    /// A short explanation without secrets.
    public let detail: String

    public init(_ reason: AttestationReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

/// The result of verifying evidence: claims, or the reasons it was rejected.
public enum VerificationOutcome: Sendable, Equatable {
    case verified(VerifiedClaims)
    case rejected([AttestationFailure])
}

/// Verifies one kind of evidence. Pure: certificates, collateral and trusted keys are given at creation.
public protocol AttestationVerifier: Sendable {
    /// The evidence type this verifier accepts.
    var tee: TEEType { get }
    /// Verifies signatures and chains and extracts claims; never throws for bad evidence.
    func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome
}
