import Crypto
import Foundation

/// A malformed Azure vTPM structure (HCL report, runtime data, TPM quote or evidence bundle): the module's one error.
public struct AzureVTPMError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A bounds-checked big-endian reader for TPM 2.0 marshalled structures.
struct TPMReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ data: Data) { bytes = [UInt8](data) }

    var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) throws -> Data {
        guard n >= 0, remaining >= n else { throw AzureVTPMError("TPM structure truncated at offset \(offset)") }
        defer { offset += n }
        return Data(bytes[offset..<(offset + n)])
    }

    mutating func uint(_ size: Int) throws -> UInt64 {
        try take(size).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A TPM2B: a 16-bit size, then that many bytes, at most `max`.
    mutating func sized(max: Int, _ name: String) throws -> Data {
        let n = Int(try uint(2))
        guard n <= max else { throw AzureVTPMError("\(name) is \(n) bytes, more than \(max)") }
        return try take(n)
    }
}

/// A TPM 2.0 `TPMS_ATTEST` of type `TPM_ST_ATTEST_QUOTE` (TPM 2.0 Part 2, 10.12): what the attestation key signs.
public struct TPMQuote: Sendable, Equatable {
    /// `TPM_GENERATED_VALUE`: every structure the TPM signs starts with it.
    public static let generatedValue: UInt32 = 0xFF54_4347
    /// `TPM_ST_ATTEST_QUOTE`.
    public static let quoteType: UInt16 = 0x8018
    /// `TPM_ALG_SHA256`.
    public static let sha256: UInt16 = 0x000B

    /// One `TPMS_PCR_SELECTION`: a PCR bank and the PCR indices selected in it (ascending).
    public struct Selection: Sendable, Equatable {
        public let hashAlgorithm: UInt16
        public let indices: [Int]
    }

    /// The marshalled bytes: the signed message.
    public let raw: Data
    /// The TPM name of the signing key (`qualifiedSigner`).
    public let qualifiedSigner: Data
    /// `extraData`: the verifier's nonce (at most 64 bytes).
    public let extraData: Data
    public let clock: UInt64
    public let resetCount: UInt32
    public let restartCount: UInt32
    public let safe: Bool
    public let firmwareVersion: UInt64
    /// The PCR selection the quote covers, bank by bank in quote order.
    public let selections: [Selection]
    /// The digest of the selected PCR values (`pcrDigest`).
    public let pcrDigest: Data

    /// Parses a `TPMS_ATTEST`; every length is bounded by the TPM 2.0 maxima and checked before it is read.
    /// - Throws: ``AzureVTPMError`` when truncated, oversized, not `TPM_GENERATED_VALUE`, not a quote, or with trailing bytes.
    public init(_ data: Data) throws {
        guard data.count <= 1024 else { throw AzureVTPMError("TPMS_ATTEST larger than 1024 bytes") }
        var r = TPMReader(data)
        guard try r.uint(4) == UInt64(Self.generatedValue) else { throw AzureVTPMError("TPMS_ATTEST magic is not TPM_GENERATED_VALUE") }
        let type = UInt16(try r.uint(2))
        guard type == Self.quoteType else { throw AzureVTPMError(String(format: "TPMS_ATTEST type 0x%04x is not a quote", type)) }
        qualifiedSigner = try r.sized(max: 66, "qualifiedSigner")
        extraData = try r.sized(max: 64, "extraData")
        clock = try r.uint(8)
        resetCount = UInt32(try r.uint(4))
        restartCount = UInt32(try r.uint(4))
        let safeByte = try r.uint(1)
        guard safeByte <= 1 else { throw AzureVTPMError("clockInfo.safe is not a TPMI_YES_NO") }
        safe = safeByte == 1
        firmwareVersion = try r.uint(8)
        let count = Int(try r.uint(4))
        guard count <= 16 else { throw AzureVTPMError("\(count) PCR banks selected, more than 16") }
        var selections: [Selection] = []
        for _ in 0..<count {
            let hash = UInt16(try r.uint(2))
            let size = Int(try r.uint(1))
            guard size <= 4 else { throw AzureVTPMError("sizeofSelect \(size) is more than 4") }
            let bitmap = try r.take(size)
            var indices: [Int] = []
            for (byte, bits) in bitmap.enumerated() {
                for bit in 0..<8 where bits & (1 << bit) != 0 { indices.append(byte * 8 + bit) }
            }
            selections.append(Selection(hashAlgorithm: hash, indices: indices))
        }
        self.selections = selections
        pcrDigest = try r.sized(max: 64, "pcrDigest")
        guard r.remaining == 0 else { throw AzureVTPMError("\(r.remaining) bytes after the TPMS_ATTEST") }
        raw = data
    }

    /// The selected SHA-256 PCR indices, or `nil` when the quote selects any other bank or none.
    public var sha256Indices: [Int]? {
        guard !selections.isEmpty, selections.allSatisfy({ $0.hashAlgorithm == Self.sha256 }) else { return nil }
        let indices = selections.flatMap(\.indices)
        return indices.isEmpty ? nil : indices
    }

    /// Whether `values` (the selected PCRs in quote order) hash to the signed `pcrDigest` (SHA-256 of their concatenation).
    public func digestMatches(_ values: [Data]) -> Bool {
        var hasher = SHA256()
        for value in values { hasher.update(data: value) }
        return Data(hasher.finalize()) == pcrDigest
    }
}

/// A TPM signature as the vTPM returns it: either a marshalled `TPMT_SIGNATURE` (RSASSA or RSAPSS with SHA-256) or the
/// bare RSA signature, which Azure's attesters send and which is RSASSA-PKCS1-v1_5.
public struct TPMSignature: Sendable, Equatable {
    /// The signature scheme.
    public enum Scheme: Sendable, Equatable {
        case rsassaPKCS1v15, rsaPSS
    }

    static let algRSASSA: UInt16 = 0x0014
    static let algRSAPSS: UInt16 = 0x0016

    public let scheme: Scheme
    /// The signature value (as many bytes as the modulus).
    public let value: Data

    /// Reads a `TPMT_SIGNATURE` when the bytes are exactly one, else takes them as a bare PKCS#1 v1.5 signature.
    /// - Throws: ``AzureVTPMError`` for a `TPMT_SIGNATURE` with another hash, or empty or oversized input.
    public init(_ data: Data) throws {
        guard !data.isEmpty, data.count <= 1024 else { throw AzureVTPMError("TPM signature is empty or larger than 1024 bytes") }
        var r = TPMReader(data)
        if data.count >= 6, let alg = try? UInt16(r.uint(2)), alg == Self.algRSASSA || alg == Self.algRSAPSS,
            let hash = try? UInt16(r.uint(2)), let size = try? Int(r.uint(2)), size == data.count - 6
        {
            guard hash == TPMQuote.sha256 else { throw AzureVTPMError(String(format: "TPMT_SIGNATURE hash 0x%04x is not SHA-256", hash)) }
            scheme = alg == Self.algRSASSA ? .rsassaPKCS1v15 : .rsaPSS
            value = try r.take(size)
        } else {
            scheme = .rsassaPKCS1v15
            value = data
        }
    }
}
