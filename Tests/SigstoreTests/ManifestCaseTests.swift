import Foundation
import Sigstore
import Testing

@Suite("Sigstore: every case of ../shared/vectors/sigstore/manifest.json")
struct ManifestCaseTests {
    @Test("Each case verifies or is refused as its manifest says", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the Sigstore vector cases cannot run"))
    func everyCase() throws {
        let cases = try SigstoreVectors.cases()
        #expect(cases.count == 45, "the manifest lists 45 cases")
        var passed = 0
        for c in cases {
            let refusal = try SigstoreVectors.run(c)
            let ok = c.expectOK ? refusal == nil : refusal != nil
            #expect(ok, "\(c.name): expected \(c.expectOK ? "ok" : "fail"), got \(refusal.map(String.init(describing:)) ?? "ok")")
            if ok { passed += 1 }
        }
        print("sigstore manifest: \(passed)/\(cases.count) cases as expected")
    }

    /// The reasons of the failures the issue names, known-answer: each real bundle fails for its own defect.
    static let reasons: [(String, SigstoreReason)] = [
        ("blob-cve-2022-36056-unrelated-log-entry-fail", .tlogBodyMismatch),
        ("blob-bad-media-type-fail", .unknownMediaType),
        ("blob-v0.1-empty-cert-chain-fail", .invalidVerificationMaterial),
        ("blob-v0.1-no-tlog-entry-fail", .tlogEntryMissing),
        ("blob-v0.2-no-inclusion-proof-fail", .inclusionProofInvalid),
        ("blob-v0.3-no-signed-time-fail", .noSignedTime),
        ("blob-v0.1-no-inclusion-proof-python-tarball-fail", .inclusionProofInvalid),
        ("blob-tsa-too-many-timestamps-fail", .timestampInvalid),
        ("blob-tsa-duplicate-timestamp-fail", .timestampInvalid),
        ("blob-tsa-timestamp-after-cert-expiry-fail", .certificateExpiredAtSigning),
        ("blob-wrong-artifact-fail", .digestMismatch),
        ("blob-wrong-san-fail", .identityMismatch),
        ("blob-wrong-issuer-fail", .identityMismatch),
        ("blob-github-wrong-workflow-ref-fail", .identityMismatch),
        ("blob-staging-bundle-production-root-fail", .unknownTlog),
        ("blob-production-bundle-staging-root-fail", .unknownTlog),
        ("blob-derived-bad-signature-fail", .signatureInvalid),
        ("blob-derived-bad-set-fail", .setInvalid),
        ("blob-derived-bad-inclusion-proof-fail", .inclusionProofInvalid),
        ("blob-derived-bad-checkpoint-signature-fail", .checkpointInvalid),
        ("blob-derived-rekor2-no-timestamp-fail", .noSignedTime),
        ("dsse-artifact-not-a-subject-fail", .digestMismatch),
        ("dsse-wrong-san-fail", .identityMismatch),
        ("dsse-production-root-fail", .unknownTlog),
        ("dsse-derived-bad-payload-fail", .signatureInvalid),
        ("oms-key-modified-file", .modelFileChanged),
        ("oms-key-added-file", .modelExtraFile),
        ("oms-key-deleted-file", .modelMissingFile),
        ("oms-key-wrong-key", .signatureInvalid),
        ("oms-key-nested-modified-file", .modelFileChanged),
        ("oms-key-nested-renamed-file", .modelExtraFile),
        ("oms-cert-wrong-root", .certificateUntrusted),
        ("oms-cert-modified-file", .modelFileChanged),
    ]

    @Test("Failing cases are refused for their own reason", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the Sigstore vector cases cannot run"))
    func failureReasons() throws {
        let cases = Dictionary(uniqueKeysWithValues: try SigstoreVectors.cases().map { ($0.name, $0) })
        for (name, reason) in Self.reasons {
            let c = try #require(cases[name], "\(name) is not in the manifest")
            let refusal = try SigstoreVectors.run(c)
            #expect(refusal?.reason == reason, "\(name): \(refusal.map(String.init(describing:)) ?? "verified")")
        }
    }

    @Test("The embedded public-good roots are the sigstore 4.5.1 wheel's files, and the vectors' copies equal them")
    func embeddedRoots() throws {
        #expect(PublicGoodRoot.sha256(.production) == "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66")
        #expect(PublicGoodRoot.sha256(.staging) == "81f5af777952d2c3955062ad56924c05ca916b5d49f3a0bce945faa475a8b1cc")
        let production = try PublicGoodRoot.trustedRoot(.production)
        #expect(!production.tlogs.isEmpty && !production.certificateAuthorities.isEmpty && !production.ctlogs.isEmpty)
        if SigstoreVectors.present {
            #expect(try SigstoreVectors.data("roots/trusted_root.production.json") == Data(PublicGoodRoot.json(.production).utf8))
        }
    }
}
