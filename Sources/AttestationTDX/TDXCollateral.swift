import Attestation
import Crypto
import Foundation
import SealgateCore
import SwiftASN1
import X509

/// TDX TCB Info (Intel PCS), verified over the exact signed bytes, and TCB level matching.
public struct TDXTCBInfo: Sendable {
    struct Component: Decodable { let svn: Int }
    struct Level: Decodable {
        struct TCB: Decodable {
            let sgxtcbcomponents: [Component]
            let pcesvn: Int
            let tdxtcbcomponents: [Component]?
        }
        let tcb: TCB
        let tcbStatus: String
    }
    /// TCB Info v3's TDX module, and the identities of TDX 1.5+ modules with their own TCB levels.
    struct Module: Decodable {
        let mrsigner: String
        let attributes: String
        let attributesMask: String
    }
    struct ModuleIdentity: Decodable {
        struct Level: Decodable {
            struct TCB: Decodable { let isvsvn: Int }
            let tcb: TCB
            let tcbStatus: String
        }
        let id: String
        let mrsigner: String
        let attributes: String
        let attributesMask: String
        let tcbLevels: [Level]
    }
    struct Body: Decodable {
        let id: String?
        let version: Int?
        let issueDate: String
        let nextUpdate: String
        let fmspc: String
        let pceId: String
        let tcbLevels: [Level]
        let tdxModule: Module?
        let tdxModuleIdentities: [ModuleIdentity]?
    }

    let body: Body

    /// Verifies `tcb_info.json` (`{"tcbInfo": {...}, "signature": "<hex r‖s>"}`) with the TCB signing chain at `date`.
    /// - Throws: ``AttestationError`` with the failed check's reason.
    public init(json: Data, signingChainPEM: String, root: Certificate, at date: Date) throws {
        guard let raw = Self.rawValue(of: "tcbInfo", in: json) else {
            throw AttestationError(.malformedEvidence, "TCB Info is not {tcbInfo, signature}")
        }
        try Self.verifySigned(raw: raw, file: json, signingChainPEM: signingChainPEM, root: root, at: date)
        guard let decoded = try? JSONDecoder().decode(Body.self, from: raw) else {
            throw AttestationError(.malformedEvidence, "TCB Info fields are missing")
        }
        guard ASN1Time.isCurrent(issueDate: decoded.issueDate, nextUpdate: decoded.nextUpdate, at: date) else {
            throw AttestationError(.evidenceExpired, "the TCB Info is not current at the verification time")
        }
        // TDX TCB Info (id "TDX", version 3 or later); an SGX TCB Info has no TDX components to rate a TD with.
        guard decoded.id == "TDX", (decoded.version ?? 0) >= 3 else {
            throw AttestationError(.malformedEvidence, "the TCB Info is not TDX TCB Info v3 (id \(decoded.id ?? "none"), version \(decoded.version ?? 0))")
        }
        body = decoded
    }

    /// The exact bytes of the JSON value of top-level `key` (objects only), as they appear in the file.
    static func rawValue(of key: String, in json: Data) -> Data? {
        let bytes = [UInt8](json)
        guard let keyRange = json.range(of: Data("\"\(key)\"".utf8)) else { return nil }
        var i = keyRange.upperBound
        while i < bytes.count, bytes[i] != UInt8(ascii: "{") { i += 1 }
        let start = i
        var depth = 0
        var inString = false
        while i < bytes.count {
            let c = bytes[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") {
                depth += 1
            } else if c == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return Data(bytes[start...i]) }
            }
            i += 1
        }
        return nil
    }

    /// The status of the first TCB level the platform meets (PCK CPUSVN components and PCESVN, and TEE_TCB_SVN),
    /// converged with the TDX module's own status as Intel's rules say (``moduleStatus(teeTCBSVN:mrSignerSEAM:seamAttributes:)``).
    /// - Throws: ``AttestationError`` when the PCK's FMSPC or PCE-ID is not this TCB Info's, or the TDX module is
    ///   not the one the TCB Info describes.
    public func status(pck: PCKExtensions, teeTCBSVN: Data, mrSignerSEAM: Data, seamAttributes: Data) throws -> TCBStatus {
        guard Hex.encode(pck.fmspc) == body.fmspc.lowercased(), Hex.encode(pck.pceID) == body.pceId.lowercased() else {
            throw AttestationError(.chainInvalid, "the PCK certificate's FMSPC or PCE-ID differs from the TCB Info's")
        }
        let tee = [UInt8](teeTCBSVN)
        guard tee.count == 16 else { throw AttestationError(.malformedEvidence, "TEE_TCB_SVN is not 16 bytes") }
        let module = try moduleStatus(teeTCBSVN: tee, mrSignerSEAM: mrSignerSEAM, seamAttributes: seamAttributes)
        // A TDX 1.5+ module (TEE_TCB_SVN[1] > 0) is rated by its identity; the levels compare the rest.
        let first = tee[1] > 0 ? 2 : 0
        for level in body.tcbLevels {
            let sgx = level.tcb.sgxtcbcomponents.map(\.svn)
            guard sgx.count == 16, pck.cpuSVN.count == 16, let tdx = level.tcb.tdxtcbcomponents?.map(\.svn), tdx.count == 16 else { continue }
            let meets = zip(pck.cpuSVN, sgx).allSatisfy { Int($0) >= $1 } && pck.pceSVN >= level.tcb.pcesvn
                && (first..<16).allSatisfy { Int(tee[$0]) >= tdx[$0] }
            if meets { return Self.converge(platform: TCBStatus(level.tcbStatus), module: module) }
        }
        return .noMatchingTCBLevel
    }
}

/// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1): TCB components, PCESVN, PCE-ID, FMSPC.
public struct PCKExtensions: Sendable {
    public let cpuSVN: [UInt8]
    public let pceSVN: Int
    public let pceID: Data
    public let fmspc: Data

    static let sgxExtensions = "1.2.840.113741.1.13.1"

    /// Reads the extension of a PCK certificate.
    /// - Throws: ``AttestationError`` `malformed_evidence` when it is missing or malformed.
    public init(_ certificate: Certificate) throws {
        guard let ext = certificate.extensions.first(where: { $0.oid.description == Self.sgxExtensions }) else {
            throw AttestationError(.malformedEvidence, "the PCK certificate has no SGX extension")
        }
        var cpu = [UInt8](repeating: 0, count: 16)
        var pce = -1
        var pceID = Data()
        var fmspc = Data()
        do {
            let root = try DER.parse(Array(ext.value))
            guard case .constructed(let items) = root.content else { throw AttestationError(.malformedEvidence, "SGX extension") }
            for item in items {
                guard case .constructed(let pair) = item.content else { continue }
                let parts = Array(pair)
                guard parts.count == 2 else { continue }
                let oid = try ASN1ObjectIdentifier(derEncoded: parts[0]).description
                switch oid {
                case Self.sgxExtensions + ".2":
                    guard case .constructed(let tcbItems) = parts[1].content else { continue }
                    for tcb in tcbItems {
                        guard case .constructed(let comp) = tcb.content else { continue }
                        let c = Array(comp)
                        guard c.count == 2 else { continue }
                        let sub = try ASN1ObjectIdentifier(derEncoded: c[0]).description
                        guard let n = Int(sub.split(separator: ".").last ?? "") else { continue }
                        if (1...16).contains(n), let v = try? Int(derEncoded: c[1]) { cpu[n - 1] = UInt8(clamping: v) }
                        if n == 17, let v = try? Int(derEncoded: c[1]) { pce = v }
                    }
                case Self.sgxExtensions + ".3": pceID = Data(try ASN1OctetString(derEncoded: parts[1]).bytes)
                case Self.sgxExtensions + ".4": fmspc = Data(try ASN1OctetString(derEncoded: parts[1]).bytes)
                default: break
                }
            }
        } catch {
            throw AttestationError(.malformedEvidence, "the PCK certificate's SGX extension does not parse")
        }
        guard pce >= 0, pceID.count == 2, fmspc.count == 6 else { throw AttestationError(.malformedEvidence, "the SGX extension lacks fields") }
        cpuSVN = cpu
        pceSVN = pce
        self.pceID = pceID
        self.fmspc = fmspc
    }
}

extension TDXAttestationVerifier {
    /// The platform TCB status of a verified quote under verified TCB Info.
    public func tcbStatus(quote: TDXQuote, tcbInfoJSON: Data, signingChainPEM: String, at date: Date) throws -> TCBStatus {
        let chain = try quote.pckCertificates()
        guard let leaf = chain.first, let root = chain.last, pinnedRoot(root) else {
            throw AttestationError(.chainInvalid, "the PCK chain does not end in the pinned Intel SGX Root CA")
        }
        let info = try TDXTCBInfo(json: tcbInfoJSON, signingChainPEM: signingChainPEM, root: root, at: date)
        return try info.status(
            pck: try PCKExtensions(leaf), teeTCBSVN: quote.teeTCBSVN, mrSignerSEAM: quote.mrSignerSEAM, seamAttributes: quote.seamAttributes)
    }
}
