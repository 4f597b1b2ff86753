import ArgumentParser
import Attestation
import AttestationSEVSNP
import AttestationTDX
import Foundation
import JOSE
import KeyBroker
import SealgateCore
import Yams

/// Certificates given on the command line (`--certs`, and the older `--vcek`, `--cert-chain`, `--ark`): PEM files
/// with one or more certificates, or one DER certificate per file, in any order.
///
/// They are parsed with the SwiftASN1-based ``AMDCertificate``, which reads any X.509 certificate's names and
/// validity (and, unlike swift-certificates, also RSASSA-PSS-signed AMD ones). Ordering them adds no trust: the
/// verifiers still check every signature up to a pinned root.
enum CertificateFiles {
    /// Every certificate in `paths`, duplicates removed, in the order found.
    static func load(_ paths: [String]) throws -> [AMDCertificate] {
        var out: [AMDCertificate] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            let found: [AMDCertificate]
            if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN CERTIFICATE-----") {
                guard let parsed = try? AMDCertificate.pem(text) else { throw ValidationError("\(path): a PEM certificate does not parse") }
                found = parsed
            } else {
                guard let parsed = try? AMDCertificate(der: data) else { throw ValidationError("\(path) is neither PEM nor a DER certificate") }
                found = [parsed]
            }
            for certificate in found where !out.contains(where: { $0.der == certificate.der }) { out.append(certificate) }
        }
        return out
    }

    /// Orders certificates leaf first, each followed by its issuer (matched by issuer and subject names), up to a
    /// self-signed root or the last issuer present.
    /// - Throws: `ValidationError` unless exactly one certificate issues no other (the leaf).
    static func chain(_ certificates: [AMDCertificate]) throws -> [AMDCertificate] {
        func selfSigned(_ c: AMDCertificate) -> Bool { c.issuer == c.subject }
        let leaves = certificates.filter { c in
            !selfSigned(c) && !certificates.contains { other in other.der != c.der && other.issuer == c.subject && !selfSigned(other) }
        }
        guard leaves.count == 1, var current = leaves.first else {
            throw ValidationError("the certificates do not form one chain: expected one leaf, found \(leaves.count)")
        }
        var chain = [current]
        while !selfSigned(current), chain.count < certificates.count,
            let issuer = certificates.first(where: { candidate in
                candidate.subject == current.issuer && !chain.contains { $0.der == candidate.der }
            })
        {
            chain.append(issuer)
            current = issuer
        }
        return chain
    }

    /// PEM text of certificates.
    static func pem(_ certificates: [AMDCertificate]) -> String {
        certificates.map {
            "-----BEGIN CERTIFICATE-----\n\($0.der.base64EncodedString(options: .lineLength64Characters))\n-----END CERTIFICATE-----\n"
        }.joined()
    }

    /// An SNP evidence bundle from a raw report and certificates in any order: VCEK or VLEK, ASK or ASVK, ARK.
    static func snpBundle(report: Data, certificates: [AMDCertificate]) throws -> Data {
        let chain = try chain(certificates)
        guard chain.count == 3 else {
            throw ValidationError("snp needs the VCEK (or VLEK), the ASK (or ASVK) and the ARK; the certificates given form a chain of \(chain.count)")
        }
        return try JSONEncoder().encode(SNPEvidenceBundle(report: report, vcekPEM: pem([chain[0]]), certChainPEM: pem(Array(chain[1...]))))
    }
}

/// Intel PCS collateral in a directory (the loader lives in AttestationTDX so the broker uses the same one).
enum CollateralFiles {
    static var defaultTDXNames: [String: String] { TDXCollateral.defaultFileNames }

    /// Loads TDX collateral from `directory` (``TDXCollateral/load(directory:)``).
    /// - Throws: `ValidationError` naming the problem.
    static func tdx(directory: String) throws -> TDXCollateral {
        do { return try TDXCollateral.load(directory: directory) } catch let error as AttestationError {
            throw ValidationError(error.message)
        }
    }
}

/// Reference values and the expected REPORT_DATA, as the CLI reads them.
enum AppraisalInputs {
    /// Reference values from a YAML or JSON (`.json`) file.
    static func referenceValues(_ path: String) throws -> ReferenceValues {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        return path.hasSuffix(".json")
            ? try JSONDecoder().decode(ReferenceValues.self, from: data)
            : try YAMLDecoder().decode(ReferenceValues.self, from: String(decoding: data, as: UTF8.self))
    }

    /// The REPORT_DATA the evidence must carry: `--report-data` as raw hex, or the broker's binding of `--nonce`
    /// (the nonce text exactly as the broker issued it) and the TEE public key JWK in `--tee-pubkey`, i.e.
    /// `RuntimeData(nonce:teePublicKey:).reportData` = SHA-512 of `{"nonce":…,"tee-pubkey":{…}}` with sorted keys.
    /// - Returns: `nil` when none of the options is given.
    static func expectedReportData(reportData: String?, nonce: String?, teePubkey: String?) throws -> Data? {
        switch (reportData, nonce, teePubkey) {
        case (nil, nil, nil):
            return nil
        case (let hex?, nil, nil):
            guard let data = Hex.decode(hex) else { throw ValidationError("--report-data is not hex") }
            return data
        case (nil, let nonce?, let path?):
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            guard let jwk = try? JSONDecoder().decode(JWK.self, from: data) else {
                throw ValidationError("--tee-pubkey \(path) is not a JWK (JSON object with kty)")
            }
            guard jwk.d == nil else { throw ValidationError("--tee-pubkey holds a private key: give the public JWK the TEE sent") }
            return RuntimeData(nonce: nonce, teePublicKey: jwk).reportData
        case (_?, _, _):
            throw ValidationError("give either --report-data or --nonce with --tee-pubkey, not both")
        default:
            throw ValidationError("--nonce and --tee-pubkey go together")
        }
    }
}
