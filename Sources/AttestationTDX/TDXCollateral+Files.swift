import Attestation
import Foundation

extension TDXCollateral {
    /// File names in a collateral directory without `manifest.json` (those of `../shared/vectors/tdx/*/collateral`).
    /// CRLs may be DER (`.der`) or PEM (`.pem`).
    public static let defaultFileNames = [
        "tcb_info": "tcb_info.json", "qe_identity": "qe_identity.json", "tcb_signing_chain": "tcb_signing_chain.pem",
        "pck_crl": "pck_crl.der", "root_ca_crl": "root_ca_crl.der",
    ]

    /// Loads Intel PCS collateral from `directory`: the paths of the `collateral` object of `directory/manifest.json`
    /// when present (the shared vectors' layout), else ``defaultFileNames``. Absent files stay `nil`; nothing here is
    /// trusted — the verifier checks every signature and validity window.
    /// - Throws: ``AttestationError`` (`malformed_evidence`) when the directory holds none of the files, or a CRL is
    ///   neither DER nor PEM.
    public static func load(directory: String) throws -> TDXCollateral {
        var names = defaultFileNames
        if let data = FileManager.default.contents(atPath: directory + "/manifest.json"),
            let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let mapped = manifest["collateral"] as? [String: String]
        {
            names = mapped
        }
        func file(_ key: String) -> Data? { names[key].flatMap { FileManager.default.contents(atPath: directory + "/" + $0) } }
        func crl(_ key: String) throws -> Data? {
            var data = file(key)
            if data == nil, let name = names[key], name.hasSuffix(".der") {
                data = FileManager.default.contents(atPath: directory + "/" + name.dropLast(4) + ".pem")
            }
            guard let data else { return nil }
            guard let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN X509 CRL-----") else { return data }
            let body = text.components(separatedBy: "-----BEGIN X509 CRL-----").dropFirst().first?
                .components(separatedBy: "-----END X509 CRL-----").first?.filter { !$0.isWhitespace } ?? ""
            guard let der = Data(base64Encoded: body) else {
                throw AttestationError(.malformedEvidence, "\(directory): \(key) is not a PEM CRL")
            }
            return der
        }
        let collateral = TDXCollateral(
            tcbInfoJSON: file("tcb_info"), qeIdentityJSON: file("qe_identity"),
            tcbSigningChainPEM: file("tcb_signing_chain").map { String(decoding: $0, as: UTF8.self) },
            pckCRL: try crl("pck_crl"), rootCACRL: try crl("root_ca_crl"))
        guard collateral != TDXCollateral() else {
            throw AttestationError(
                .malformedEvidence, "no TDX collateral in \(directory) (expected \(defaultFileNames.values.sorted().joined(separator: ", ")))")
        }
        return collateral
    }
}
