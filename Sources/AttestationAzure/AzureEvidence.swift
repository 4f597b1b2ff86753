import Attestation
import Foundation
import SealgateCore

/// Azure vTPM evidence as the Confidential Containers attesters send it (the JSON of Trustee's `az-snp-vtpm` and
/// `az-tdx-vtpm` verifiers), plus an optional AMD `cert_chain`.
///
/// Accepted shapes: version 0 (`quote` / `tpm_quote` with byte arrays, `report` or `hcl_report` as a byte array, `vcek`
/// PEM) and versions 1–2 (`tpm_quote` with hex `signature`, `message` and `pcrs`; `hcl_report`, `td_quote` and `vcek`
/// (DER) as base64url). ``json()`` writes version 1.
public struct AzureVTPMEvidence: Sendable, Equatable {
    /// The HCL report.
    public var hclReport: Data
    /// The marshalled `TPMS_ATTEST` the vTPM signed.
    public var tpmMessage: Data
    /// The vTPM signature over ``tpmMessage`` (bare, or a `TPMT_SIGNATURE`).
    public var tpmSignature: Data
    /// The selected PCR values, in the quote's selection order.
    public var pcrs: [Data]
    /// SNP: the VCEK or VLEK certificate (DER).
    public var vcek: Data?
    /// SNP: AMD `cert_chain` (ASK or ASVK, then ARK), PEM; when absent the verifier's configured chains are used.
    public var certChainPEM: String?
    /// TDX: the DCAP quote over the TDREPORT.
    public var tdQuote: Data?

    /// Upper bound on the evidence JSON (version 0 spells bytes as decimal arrays, about four times the binary size).
    public static let maxSize = 256 * 1024

    public init(
        hclReport: Data, tpmMessage: Data, tpmSignature: Data, pcrs: [Data], vcek: Data? = nil, certChainPEM: String? = nil,
        tdQuote: Data? = nil
    ) {
        self.hclReport = hclReport
        self.tpmMessage = tpmMessage
        self.tpmSignature = tpmSignature
        self.pcrs = pcrs
        self.vcek = vcek
        self.certChainPEM = certChainPEM
        self.tdQuote = tdQuote
    }

    /// Decodes evidence JSON in any accepted shape.
    /// - Throws: ``AzureVTPMError`` when the JSON, a field or an encoding is not as described above.
    public init(json data: Data) throws {
        guard data.count <= Self.maxSize else { throw AzureVTPMError("Azure vTPM evidence larger than \(Self.maxSize) bytes") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw AzureVTPMError("Azure vTPM evidence is not a JSON object")
        }
        let version = object["version"] as? Int ?? 0
        guard (0...2).contains(version) else { throw AzureVTPMError("unsupported Azure vTPM evidence version \(version)") }
        guard let quote = (object["tpm_quote"] ?? object["quote"]) as? [String: Any] else {
            throw AzureVTPMError("Azure vTPM evidence has no tpm_quote")
        }
        tpmMessage = try Self.bytes(quote["message"], "tpm_quote.message", text: Hex.decode)
        tpmSignature = try Self.bytes(quote["signature"], "tpm_quote.signature", text: Hex.decode)
        guard let pcrList = quote["pcrs"] as? [Any], pcrList.count <= 24 * 16 else { throw AzureVTPMError("tpm_quote.pcrs is not a list") }
        pcrs = try pcrList.map { try Self.bytes($0, "tpm_quote.pcrs", text: Hex.decode) }
        hclReport = try Self.bytes(object["hcl_report"] ?? object["report"], "hcl_report", text: AzureRuntimeData.base64url)
        if let vcek = object["vcek"] as? String, vcek.contains("-----BEGIN") {
            guard let der = Self.pemBody(vcek) else { throw AzureVTPMError("vcek is not a PEM certificate") }
            self.vcek = der
        } else if let vcek = object["vcek"] {
            self.vcek = try Self.bytes(vcek, "vcek", text: AzureRuntimeData.base64url)
        } else {
            vcek = nil
        }
        if let chain = object["cert_chain"] {
            guard let text = chain as? String else { throw AzureVTPMError("cert_chain is not PEM text") }
            certChainPEM = text
        } else {
            certChainPEM = nil
        }
        tdQuote = try object["td_quote"].map { try Self.bytes($0, "td_quote", text: AzureRuntimeData.base64url) }
    }

    /// The evidence as version-1 JSON (hex TPM fields, base64url reports and VCEK DER, `cert_chain` when set).
    public func json() -> Data {
        var object: [String: Any] = [
            "version": 1,
            "tpm_quote": ["signature": Hex.encode(tpmSignature), "message": Hex.encode(tpmMessage), "pcrs": pcrs.map { Hex.encode($0) }],
            "hcl_report": Base64URL.encode(hclReport),
        ]
        if let vcek { object["vcek"] = Base64URL.encode(vcek) }
        if let certChainPEM { object["cert_chain"] = certChainPEM }
        if let tdQuote { object["td_quote"] = Base64URL.encode(tdQuote) }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    /// A byte field: an array of integers 0–255, or text in the field's encoding.
    static func bytes(_ value: Any?, _ name: String, text decode: (String) -> Data?) throws -> Data {
        if let text = value as? String {
            guard let data = decode(text) else { throw AzureVTPMError("\(name) is not in the expected text encoding") }
            return data
        }
        guard let array = value as? [Any], array.count <= maxSize else { throw AzureVTPMError("\(name) is missing or not bytes") }
        var data = Data(capacity: array.count)
        for element in array {
            guard let number = element as? NSNumber, let byte = UInt8(exactly: number.doubleValue) else {
                throw AzureVTPMError("\(name) holds a value that is not a byte")
            }
            data.append(byte)
        }
        return data
    }

    /// The DER of the first PEM block.
    static func pemBody(_ pem: String) -> Data? {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN") }),
            let end = lines[begin...].firstIndex(where: { $0.hasPrefix("-----END") })
        else { return nil }
        return Data(base64Encoded: lines[(begin + 1)..<end].joined())
    }
}
