import Crypto
import Foundation
import SealgateCore

/// The report Azure's paravisor (HCL) returns from the vTPM: a 32-byte header, the hardware report (an SEV-SNP report
/// or a TDX TDREPORT, in a 1184-byte field), then the runtime data header and the runtime ("variable") data, a JSON
/// object holding the vTPM attestation key. The hardware report's REPORT_DATA binds SHA-256 of the runtime data.
public struct HCLReport: Sendable, Equatable {
    /// The hardware report type in the runtime data header (`IgvmReportType`).
    public enum ReportType: UInt32, Sendable {
        case snp = 2
        case tdx = 4
    }

    static let headerSize = 32
    static let hardwareReportSize = 1184
    static let runtimeHeaderSize = 20
    static let tdReportSize = 1024
    /// `IgvmHashType` SHA-256: the only hash type accepted for the binding.
    static let hashSHA256: UInt32 = 1
    /// Upper bound on the whole report (the vTPM NV index holds a few KiB).
    public static let maxSize = 32 * 1024

    /// The header's version field.
    public let version: UInt32
    /// The runtime data header's report type (2 = SNP, 4 = TDX).
    public let reportType: ReportType
    /// The runtime data header's hash type (1 = SHA-256).
    public let hashType: UInt32
    /// The hardware report field (1184 bytes; for TDX the 1024-byte TDREPORT, then padding).
    public let hardwareReport: Data
    /// The runtime data bytes exactly as hashed into REPORT_DATA.
    public let runtimeData: Data

    /// Parses the report; every length is checked before it is read. Trailing padding is ignored.
    /// - Throws: ``AzureVTPMError`` when truncated, oversized, not `HCLA`, or of an unknown report type.
    public init(_ data: Data) throws {
        guard data.count <= Self.maxSize else { throw AzureVTPMError("HCL report larger than \(Self.maxSize) bytes") }
        let b = [UInt8](data)
        func u32(_ at: Int) throws -> UInt32 {
            guard at >= 0, b.count >= at + 4 else { throw AzureVTPMError("HCL report truncated at offset \(at)") }
            return (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * $1) }
        }
        let runtimeHeader = Self.headerSize + Self.hardwareReportSize
        guard b.count >= runtimeHeader + Self.runtimeHeaderSize else { throw AzureVTPMError("HCL report truncated (\(b.count) bytes)") }
        guard b.starts(with: Array("HCLA".utf8)) else { throw AzureVTPMError("HCL report does not start with HCLA") }
        version = try u32(4)
        let rawType = try u32(runtimeHeader + 8)
        guard let type = ReportType(rawValue: rawType) else { throw AzureVTPMError("HCL report type \(rawType) is neither SNP (2) nor TDX (4)") }
        reportType = type
        hashType = try u32(runtimeHeader + 12)
        let variableSize = Int(try u32(runtimeHeader + 16))
        let start = runtimeHeader + Self.runtimeHeaderSize
        guard variableSize <= b.count - start else { throw AzureVTPMError("HCL runtime data (\(variableSize) bytes) runs past the report") }
        hardwareReport = Data(b[Self.headerSize..<runtimeHeader])
        runtimeData = Data(b[start..<(start + variableSize)])
    }

    /// SHA-256 of the runtime data: what the first 32 bytes of the hardware REPORT_DATA must equal.
    public var runtimeDataDigest: Data { Data(SHA256.hash(data: runtimeData)) }

    /// For TDX, the REPORTDATA of the TDREPORT (REPORTMACSTRUCT offset 128, 64 bytes).
    public var tdReportData: Data { hardwareReport.subdata(in: 128..<192) }
}

/// The HCL runtime data: the vTPM attestation key (`HCLAkPub`, an RSA JWK), the user data and the VM configuration.
public struct AzureRuntimeData: Sendable, Equatable {
    /// The VM configuration the paravisor reports (fields absent from the JSON are `nil`).
    public struct VMConfiguration: Sendable, Equatable, Decodable {
        public let consoleEnabled: Bool?
        public let secureBoot: Bool?
        public let tpmEnabled: Bool?
        public let tpmPersisted: Bool?
        public let vmUniqueID: String?

        enum CodingKeys: String, CodingKey {
            case consoleEnabled = "console-enabled"
            case secureBoot = "secure-boot"
            case tpmEnabled = "tpm-enabled"
            case tpmPersisted = "tpm-persisted"
            case vmUniqueID = "vmUniqueId"
        }
    }

    struct JWK: Decodable {
        let kid: String?
        let kty: String
        let n: String?
        let e: String?
    }

    struct Document: Decodable {
        let keys: [JWK]
        let userData: String?
        let vmConfiguration: VMConfiguration?

        enum CodingKeys: String, CodingKey {
            case keys
            case userData = "user-data"
            case vmConfiguration = "vm-configuration"
        }
    }

    /// The attestation key's RSA modulus (big-endian, no leading zero byte required).
    public let akModulus: Data
    /// The attestation key's RSA public exponent.
    public let akExponent: Data
    /// `user-data` as the paravisor wrote it (hex text on Azure), if present.
    public let userData: String?
    public let vmConfiguration: VMConfiguration?

    /// Parses the runtime data JSON and takes the `HCLAkPub` key.
    /// - Throws: ``AzureVTPMError`` when the JSON does not parse, has no `HCLAkPub`, or the key is not an RSA JWK.
    public init(_ data: Data) throws {
        guard let document = try? JSONDecoder().decode(Document.self, from: data) else {
            throw AzureVTPMError("HCL runtime data is not the expected JSON object (keys, user-data, vm-configuration)")
        }
        guard let ak = document.keys.first(where: { $0.kid == "HCLAkPub" }) else { throw AzureVTPMError("HCL runtime data has no HCLAkPub key") }
        guard ak.kty == "RSA", let n = ak.n.flatMap(Self.base64url), let e = ak.e.flatMap(Self.base64url), !n.isEmpty, !e.isEmpty else {
            throw AzureVTPMError("HCLAkPub is not an RSA JWK with n and e")
        }
        akModulus = n
        akExponent = e
        userData = document.userData
        vmConfiguration = document.vmConfiguration
    }

    /// Base64url with or without padding.
    static func base64url(_ text: String) -> Data? {
        var trimmed = Substring(text)
        while trimmed.last == "=" { trimmed = trimmed.dropLast() }
        return Base64URL.decode(String(trimmed))
    }
}
