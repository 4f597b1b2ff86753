import Foundation
import SealgateCore
import SwiftASN1
import X509

/// A malformed TDX quote.
public struct TDXError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// An Intel TDX DCAP quote (v4, or v5 with a TDX 1.0/1.5 body) with its embedded certification data.
public struct TDXQuote: Sendable {
    public let version: UInt16
    /// Header, body type/size (v5) and body: what the attestation key signed.
    public let signedRegion: Data
    public let body: Data
    public let signature: Data
    public let attestationKey: Data
    /// The 384-byte SGX report of the Quoting Enclave.
    public let qeReport: Data
    public let qeReportSignature: Data
    public let qeAuthData: Data
    /// The embedded PEM chain bytes: PCK leaf, PCK Platform/Processor CA, Intel SGX Root CA. Empty when the quote
    /// carries another kind of certification data (``certificationDataType`` other than 5); the verifier then
    /// substitutes the chain it was given (``TDXAttestationVerifier/pckChainPEM``).
    public internal(set) var pckChainData: Data
    /// The inner certification data type of the QE report certification data: 5 for an embedded PCK chain; 1–3
    /// (PPID forms), 4 (PCK leaf only) or 7 (platform manifest) when the chain must come from elsewhere.
    public let certificationDataType: UInt16

    /// The PEM chain as text (trailing NUL padding removed).
    public var pckChainPEM: String {
        let end = pckChainData.lastIndex { $0 != 0 }.map { $0 + 1 } ?? pckChainData.startIndex
        return String(decoding: pckChainData[pckChainData.startIndex..<end], as: UTF8.self)
    }

    func field(_ offset: Int, _ length: Int) -> Data { body.subdata(in: offset..<(offset + length)) }
    public var teeTCBSVN: Data { field(0, 16) }
    /// MRSIGNERSEAM: the signer of the TDX module (zero for Intel's).
    public var mrSignerSEAM: Data { field(64, 48) }
    /// SEAMATTRIBUTES of the TDX module.
    public var seamAttributes: Data { field(112, 8) }
    public var mrSeam: Data { field(16, 48) }
    public var mrSignerSeam: Data { field(64, 48) }
    public var tdAttributes: Data { field(120, 8) }
    public var xfam: Data { field(128, 8) }
    public var mrTD: Data { field(136, 48) }
    public var mrConfigID: Data { field(184, 48) }
    public var mrOwner: Data { field(232, 48) }
    public var mrOwnerConfig: Data { field(280, 48) }
    public func rtmr(_ i: Int) -> Data { field(328 + 48 * i, 48) }
    public var reportData: Data { field(520, 64) }
    /// TDATTRIBUTES bit 0: the TD is debuggable.
    public var debug: Bool { (tdAttributes.first ?? 0) & 1 != 0 }
    /// TDATTRIBUTES bit 28 (SEPT_VE_DISABLE): EPT violations on private memory do not raise #VE in the guest. A TD
    /// without it lets the host (by unmapping a private page) raise #VE at any instruction; Linux refuses to run so.
    public var septVEDisabled: Bool { tdAttributes.count > 3 && tdAttributes[tdAttributes.startIndex + 3] & (1 << 4) != 0 }
    /// MRSERVICETD of a TDX 1.5 body: the measurement of the service TDs bound to this TD, zero when none is; `nil`
    /// for a TDX 1.0 body (a TDX 1.0 module binds no service TD).
    public var mrServiceTD: Data? { body.count >= 648 ? field(600, 48) : nil }
    /// TDATTRIBUTES bit 29 (MIGRATABLE): a migration TD may export the TD to another platform.
    public var migratable: Bool { tdAttributes.count > 3 && tdAttributes[tdAttributes.startIndex + 3] & (1 << 5) != 0 }

    /// Parses a quote; lengths come from the structure, so trailing bytes are ignored.
    /// - Throws: ``TDXError`` for anything truncated, oversized or of an unsupported version or type.
    public init(_ data: Data) throws {
        let b = [UInt8](data)
        var o = 0
        func need(_ n: Int) throws { guard n >= 0, b.count - o >= n else { throw TDXError("quote truncated at offset \(o)") } }
        func u16() throws -> Int { try need(2); defer { o += 2 }; return Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32() throws -> Int { try need(4); defer { o += 4 }; return (0..<4).reduce(0) { $0 | Int(b[o + $1]) << (8 * $1) } }
        func take(_ n: Int) throws -> Data { try need(n); defer { o += n }; return Data(b[o..<(o + n)]) }

        let version = try u16()
        guard version == 4 || version == 5 else { throw TDXError("unsupported quote version \(version)") }
        guard try u16() == 2 else { throw TDXError("attestation key type is not ECDSA-256-with-P-256") }
        guard try u32() == 0x81 else { throw TDXError("TEE type is not TDX") }
        o = 48
        if version == 4 {
            body = try take(584)
        } else {
            let type = try u16()
            let size = try u32()
            guard (type == 2 && size == 584) || (type == 3 && size == 648) else { throw TDXError("unsupported v5 body type \(type) size \(size)") }
            body = try take(size)
        }
        self.version = UInt16(version)
        signedRegion = Data(b[0..<o])
        let signatureDataLength = try u32()
        guard signatureDataLength <= 64 * 1024 else { throw TDXError("signature data too large") }
        try need(signatureDataLength)
        let end = o + signatureDataLength
        signature = try take(64)
        attestationKey = try take(64)
        guard try u16() == 6 else { throw TDXError("certification data is not a QE report (type 6)") }
        let outerSize = try u32()
        try need(outerSize)
        qeReport = try take(384)
        qeReportSignature = try take(64)
        qeAuthData = try take(try u16())
        let innerType = try u16()
        guard [1, 2, 3, 4, 5, 7].contains(innerType) else { throw TDXError("unsupported inner certification data type \(innerType)") }
        let chainSize = try u32()
        guard chainSize <= 32 * 1024 else { throw TDXError("certification data too large") }
        let inner = try take(chainSize)
        certificationDataType = UInt16(innerType)
        pckChainData = innerType == 5 ? inner : Data()
        guard o <= end else { throw TDXError("certification data overruns the signature data") }
    }
}

extension TDXQuote {
    /// The embedded PCK chain, parsed: leaf, PCK CA, root.
    /// - Throws: when the PEM or a certificate does not parse.
    public func pckCertificates() throws -> [Certificate] {
        try PEMDocument.parseMultiple(pemString: pckChainPEM).map { try Certificate(pemDocument: $0) }
    }
}
