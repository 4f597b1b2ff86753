import Foundation
import SealgateCore

/// An AMD SEV-SNP attestation report (1184 bytes, little-endian fields), as the AMD SEV-SNP ABI defines it.
public struct SNPReport: Sendable, Equatable {
    public static let size = 1184
    /// The signed region: everything before the signature.
    public static let signedLength = 0x2A0

    public let raw: Data
    public let version: UInt32
    public let guestSVN: UInt32
    public let policy: UInt64
    public let vmpl: UInt32
    public let signatureAlgorithm: UInt32
    public let currentTCB: UInt64
    public let platformInfo: UInt64
    /// 0 VCEK, 1 VLEK, 7 none.
    public let signingKey: UInt32
    public let reportData: Data
    public let measurement: Data
    public let hostData: Data
    public let idKeyDigest: Data
    public let reportID: Data
    public let reportedTCB: UInt64
    public let chipID: Data
    public let committedTCB: UInt64
    public let launchTCB: UInt64

    /// POLICY bit 19: the guest may be debugged.
    public var debugAllowed: Bool { policy & (1 << 19) != 0 }
    /// POLICY bit 18: a migration agent may be associated.
    public var migrationAgentAllowed: Bool { policy & (1 << 18) != 0 }
    /// POLICY bit 16: SMT allowed.
    public var smtAllowed: Bool { policy & (1 << 16) != 0 }

    /// REPORTED_TCB parts (Milan/Genoa layout): boot loader, TEE, SNP, microcode.
    public var reportedTCBParts: (bootLoader: UInt8, tee: UInt8, snp: UInt8, microcode: UInt8) {
        let b = withUnsafeBytes(of: reportedTCB.littleEndian) { Array($0) }
        return (b[0], b[1], b[6], b[7])
    }

    /// ``reportedTCBParts`` by the names reference values use (`bl`, `tee`, `snp`, `ucode`).
    public var tcbComponents: [String: Int] {
        let p = reportedTCBParts
        return ["bl": Int(p.bootLoader), "tee": Int(p.tee), "snp": Int(p.snp), "ucode": Int(p.microcode)]
    }

    /// The big-endian raw r‖s (96 bytes) of the report's ECDSA P-384 signature.
    public var signatureRS: Data {
        let bytes = [UInt8](raw)
        let r = bytes[0x2A0..<0x2A0 + 72].reversed().suffix(48)
        let s = bytes[0x2E8..<0x2E8 + 72].reversed().suffix(48)
        return Data(r) + Data(s)
    }

    /// Whether the signature block (0x2A0–0x49F, outside the signed region) is canonical: R and S are 48-byte
    /// P-384 scalars zero-extended to 72 bytes little-endian, so bytes 48–71 of each must be zero, as must the 368
    /// reserved bytes after S. Anything else would let one signed report travel under many byte strings.
    public var signatureIsCanonical: Bool {
        let bytes = [UInt8](raw)
        let padding = [0x2A0 + 48..<0x2A0 + 72, 0x2E8 + 48..<0x2E8 + 72, 0x330..<Self.size]
        return padding.allSatisfy { range in bytes[range].allSatisfy { $0 == 0 } }
    }

    /// Parses a report.
    /// - Throws: ``SNPError`` when the length, version or signature algorithm is not supported.
    public init(_ data: Data) throws {
        guard data.count == Self.size else { throw SNPError("report is \(data.count) bytes, not \(Self.size)") }
        let b = [UInt8](data)
        func u32(_ o: Int) -> UInt32 { b[o..<o + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        func u64(_ o: Int) -> UInt64 { b[o..<o + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        func bytes(_ o: Int, _ n: Int) -> Data { Data(b[o..<o + n]) }
        raw = data
        version = u32(0x000)
        guestSVN = u32(0x004)
        policy = u64(0x008)
        vmpl = u32(0x030)
        signatureAlgorithm = u32(0x034)
        currentTCB = u64(0x038)
        platformInfo = u64(0x040)
        signingKey = (u32(0x048) >> 2) & 0x7
        reportData = bytes(0x050, 64)
        measurement = bytes(0x090, 48)
        hostData = bytes(0x0C0, 32)
        idKeyDigest = bytes(0x0E0, 48)
        reportID = bytes(0x140, 32)
        reportedTCB = u64(0x180)
        chipID = bytes(0x1A0, 64)
        committedTCB = u64(0x1E0)
        launchTCB = u64(0x1F0)
        guard (2...5).contains(version) else { throw SNPError("unsupported report version \(version)") }
        guard signatureAlgorithm == 1 else { throw SNPError("signature algorithm \(signatureAlgorithm) is not ECDSA P-384") }
    }
}

/// A malformed SEV-SNP report or certificate.
public struct SNPError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
