import Attestation
import AttestationSEVSNP
import Foundation
import Testing

/// Signature malleability: an SNP report's R and S are 48-byte scalars zero-extended to 72 bytes (little-endian), and
/// the rest of the 512-byte signature block is reserved. None of it is signed, so non-zero bytes there must be
/// refused, or one signed report would verify under many byte strings.
@Suite("SEV-SNP signature encoding (real samples)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct SNPSignatureEncodingTests {
    static let nonCanonical = SNPVerification.rejected([
        AttestationFailure(.signatureNonCanonical, "the report's signature block is not canonical (non-zero padding of R or S, or reserved bytes)")
    ])

    @Test("Non-zero bytes in R's or S's zero extension (48–71) or the reserved block are refused; the sample still verifies", arguments: SNPTests.samples())
    func zeroExtension(_ name: String) throws {
        let s = try SNPTests.load(name)
        let verifier = SNPAttestationVerifier()
        guard case .verified = verifier.verify(report: s.report, vcek: s.vcek, chain: s.chain, at: s.asOf) else {
            Issue.record("\(name): the unmodified report does not verify")
            return
        }
        let r = 0x2A0, sOffset = 0x2E8
        for (component, base) in [("R", r), ("S", sOffset)] {
            for index in [48, 60, 71] {
                var mutated = s.report
                mutated[base + index] = 0x01
                #expect(verifier.verify(report: mutated, vcek: s.vcek, chain: s.chain, at: s.asOf) == Self.nonCanonical, "\(name) \(component)[\(index)]")
            }
        }
        for offset in [0x330, 0x400, SNPReport.size - 1] {
            var mutated = s.report
            mutated[offset] = 0x80
            #expect(verifier.verify(report: mutated, vcek: s.vcek, chain: s.chain, at: s.asOf) == Self.nonCanonical, "\(name) reserved @\(offset)")
        }
        #expect(try SNPReport(s.report).signatureIsCanonical)
    }
}
