import Attestation
import AttestationNVIDIA
import Foundation
import SealgateCore
import SwiftASN1
import Testing

/// The real H100 report from `../shared/vectors/nvidia` (never copied into the project).
@Suite("NVIDIA H100 SPDM reports (real sample)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct NVIDIATests {
    static let dir = SharedVectors.root.appendingPathComponent("nvidia")

    struct Sample {
        let folder: URL
        let expected: [String: Any]
        let negatives: [[String: Any]]
        let asOf: Date
        let report: Data
        let chainPEM: String
    }

    static func load() throws -> Sample {
        let folder = dir.appendingPathComponent("hopper-trustee")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("manifest.json"))) as? [String: Any])
        let asOfText = try #require(manifest["as_of"] as? String)
        return Sample(
            folder: folder, expected: manifest["expected"] as? [String: Any] ?? [:], negatives: manifest["negatives"] as? [[String: Any]] ?? [],
            asOf: try #require(ISO8601DateFormatter().date(from: asOfText)), report: try Data(contentsOf: folder.appendingPathComponent("report.bin")),
            chainPEM: try String(contentsOf: folder.appendingPathComponent("cert_chain.pem"), encoding: .utf8))
    }

    static func reasons(_ verifier: NVIDIAAttestationVerifier = NVIDIAAttestationVerifier(), _ report: Data, _ chain: String, at date: Date) -> [AttestationReason]? {
        if case .rejected(let failures) = verifier.verify(report: report, certChainPEM: chain, at: date) { return failures.map(\.reason) }
        return nil
    }

    @Test("The built-in pin equals the published NVIDIA Device Identity CA; another pin refuses the report")
    func pins() throws {
        let s = try Self.load()
        let pem = try String(contentsOf: Self.dir.appendingPathComponent("roots/nvidia-device-identity-ca.pem"), encoding: .utf8)
        #expect(VendorRoots.nvidiaDeviceIdentity.contains(VendorRoots.fingerprint(try PEMDocument(pemString: pem).derBytes)))
        let explicit = try NVIDIAAttestationVerifier(rootPEM: pem)
        #expect(Self.reasons(explicit, s.report, s.chainPEM, at: s.asOf) == nil)
        let aws = try NVIDIAAttestationVerifier(rootPEM: try String(contentsOf: SharedVectors.root.appendingPathComponent("nitro/roots/aws-nitro-enclaves-root-g1.pem"), encoding: .utf8))
        #expect(Self.reasons(aws, s.report, s.chainPEM, at: s.asOf) == [.chainInvalid])
    }

    @Test("The sample verifies at as_of with the manifest's nonces, block count, lengths and opaque data")
    func verifies() throws {
        let s = try Self.load()
        guard case .verified(let claims) = NVIDIAAttestationVerifier().verify(report: s.report, certChainPEM: s.chainPEM, at: s.asOf) else {
            Issue.record("sample rejected: \(String(describing: Self.reasons(NVIDIAAttestationVerifier(), s.report, s.chainPEM, at: s.asOf)))")
            return
        }
        let r = claims.report
        #expect(Hex.encode(r.requestNonce) == s.expected["request_nonce"] as? String)
        #expect(Hex.encode(r.responseNonce) == s.expected["response_nonce"] as? String)
        #expect(r.blocks.count == s.expected["number_of_blocks"] as? Int)
        #expect(r.measurementRecord.count == s.expected["measurement_record_length"] as? Int)
        #expect(r.opaqueData.count == s.expected["opaque_length"] as? Int)
        #expect(r.blocks.map(\.index) == (1...64).map { UInt8($0) })
        #expect(r.blocks.allSatisfy { $0.value.count == 48 })
        #expect(r.requestedOperation == 0xFF)
        #expect(r.opaqueItems?.isEmpty == false && r.vbiosVersion != nil && r.driverVersion != nil)
        #expect(claims.chain.count == 5)
        let common = claims.verifiedClaims
        #expect(common.tee == .nvidia && common.reportData == r.requestNonce && common.measurement.count == 96)
        // The same through the AttestationVerifier, from the JSON bundle.
        let bundle = try JSONEncoder().encode(NVIDIAEvidenceBundle(report: s.report, certChainPEM: s.chainPEM))
        #expect(NVIDIAAttestationVerifier().verify(Evidence(tee: .nvidia, bytes: bundle), now: s.asOf) == .verified(common))
    }

    @Test("Tampered copies give signature_invalid; a time before the chain's validity gives certificate_expired")
    func negatives() throws {
        let s = try Self.load()
        #expect(s.negatives.count == 2)
        for negative in s.negatives {
            let file = try #require(negative["file"] as? String)
            #expect(Self.reasons(NVIDIAAttestationVerifier(), try Data(contentsOf: s.folder.appendingPathComponent(file)), s.chainPEM, at: s.asOf) == [.signatureInvalid], "\(file)")
        }
        #expect(Self.reasons(NVIDIAAttestationVerifier(), s.report, s.chainPEM, at: Date(timeIntervalSince1970: 1_000_000_000)) == [.certificateExpired])
    }

    @Test("Flips in the signed region, truncations and extensions are typed rejections")
    func mutations() throws {
        let s = try Self.load()
        let signedLength = s.report.count - 96
        for _ in 0..<1500 {
            var mutated = s.report
            let i = Int.random(in: 0..<signedLength)
            mutated[i] ^= UInt8.random(in: 1...255)
            let reasons = Self.reasons(NVIDIAAttestationVerifier(), mutated, s.chainPEM, at: s.asOf)
            #expect(reasons == [.signatureInvalid] || reasons == [.malformedEvidence], "flip at \(i): \(String(describing: reasons))")
        }
        for cut in stride(from: 0, to: s.report.count, by: 97) {
            #expect(Self.reasons(NVIDIAAttestationVerifier(), s.report.prefix(cut), s.chainPEM, at: s.asOf) == [.malformedEvidence], "cut \(cut)")
        }
        #expect(Self.reasons(NVIDIAAttestationVerifier(), s.report + Data([0]), s.chainPEM, at: s.asOf) == [.malformedEvidence])
    }

    @Test("Chains out of order, without the root, duplicated or garbled are rejected")
    func chains() throws {
        let s = try Self.load()
        let blocks = s.chainPEM.components(separatedBy: "-----END CERTIFICATE-----").dropLast().map { $0 + "-----END CERTIFICATE-----\n" }
        #expect(blocks.count == 5)
        let verifier = NVIDIAAttestationVerifier()
        #expect(Self.reasons(verifier, s.report, blocks.reversed().joined(), at: s.asOf) == [.chainInvalid])
        #expect(Self.reasons(verifier, s.report, blocks.dropLast().joined(), at: s.asOf) == [.chainInvalid])
        #expect(Self.reasons(verifier, s.report, ([blocks[0]] + blocks).joined(), at: s.asOf) == [.chainInvalid])
        #expect(Self.reasons(verifier, s.report, [blocks[0], blocks[2], blocks[3], blocks[4]].joined(), at: s.asOf) == [.chainInvalid])
        #expect(Self.reasons(verifier, s.report, "not pem", at: s.asOf) == [.malformedEvidence])
        for _ in 0..<50 {
            let noise = Data((0..<Int.random(in: 0..<2048)).map { _ in UInt8.random(in: 0...255) })
            #expect(Self.reasons(verifier, noise, s.chainPEM, at: s.asOf) == [.malformedEvidence])
            guard case .rejected = verifier.verify(Evidence(tee: .nvidia, bytes: noise), now: s.asOf) else {
                Issue.record("random bytes accepted")
                continue
            }
        }
    }
}
