import Attestation
import AttestationSEVSNP
import Foundation
import SealgateCore
import Testing

@Suite("AMD SEV-SNP reports (real samples)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct SNPTests {
    static let dir = SharedVectors.root.appendingPathComponent("sev-snp")

    static func samples() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/manifest.json").path) }.sorted()
    }

    struct Sample {
        let manifest: [String: Any]
        let report: Data
        let vcek: AMDCertificate
        let chain: [AMDCertificate]
        let asOf: Date
        let folder: URL
    }

    static func load(_ name: String) throws -> Sample {
        let folder = dir.appendingPathComponent(name)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("manifest.json"))) as? [String: Any])
        let files = try #require(manifest["files"] as? [String: String])
        let vcekFile = try #require(files["vcek"])
        let vcekData = try Data(contentsOf: folder.appendingPathComponent(vcekFile))
        let pemFirst = vcekFile.hasSuffix(".pem") ? try AMDCertificate.pem(String(decoding: vcekData, as: UTF8.self)).first : nil
        let vcek = try pemFirst ?? AMDCertificate(der: vcekData)
        let chainFile = try #require(files["cert_chain"])
        let chain = try AMDCertificate.pem(try String(contentsOf: folder.appendingPathComponent(chainFile), encoding: .utf8))
        let asOfText = try #require(manifest["as_of"] as? String)
        let asOf = try #require(ISO8601DateFormatter().date(from: asOfText))
        let reportFile = try #require(files["report"])
        return Sample(manifest: manifest, report: try Data(contentsOf: folder.appendingPathComponent(reportFile)), vcek: vcek, chain: chain, asOf: asOf, folder: folder)
    }

    /// The verifier with its built-in pins of AMD's ARKs; the test below checks they equal the published files.
    static func verifier() throws -> SNPAttestationVerifier { SNPAttestationVerifier() }

    @Test("The built-in ARK pins equal the published ARK certificates")
    func pins() throws {
        for name in ["ark-milan.pem", "ark-genoa.pem", "ark-turin.pem"] {
            let pem = try String(contentsOf: Self.dir.appendingPathComponent("roots/\(name)"), encoding: .utf8)
            let der = try #require(try AMDCertificate.pem(pem).first).der
            #expect(VendorRoots.amdARKs.contains(VendorRoots.fingerprint(der)), "\(name)")
        }
    }

    @Test("Every sample verifies at as_of with the manifest's expected values", arguments: samples())
    func verifies(_ name: String) throws {
        let s = try Self.load(name)
        guard case .verified(let report) = try Self.verifier().verify(report: s.report, vcek: s.vcek, chain: s.chain, at: s.asOf) else {
            let outcome = try Self.verifier().verify(report: s.report, vcek: s.vcek, chain: s.chain, at: s.asOf)
            Issue.record("\(name) rejected: \(outcome)")
            return
        }
        let e = try #require(s.manifest["expected"] as? [String: Any])
        #expect(Hex.encode(report.measurement) == e["measurement"] as? String)
        #expect(Hex.encode(report.reportData) == e["report_data"] as? String)
        #expect(Hex.encode(report.chipID) == e["chip_id"] as? String)
        #expect(Int(report.version) == e["version"] as? Int)
        #expect(Int(report.policy) == e["policy"] as? Int)
        #expect((report.signingKey == 1 ? "VLEK" : "VCEK") == e["signing_key"] as? String)
        if let parts = s.manifest["expected_reported_tcb_parts"] as? [String: Int] {
            let tcb = report.reportedTCBParts
            #expect([Int(tcb.bootLoader), Int(tcb.tee), Int(tcb.snp), Int(tcb.microcode)] == [parts["bl"], parts["tee"], parts["snp"], parts["ucode"]])
        }
    }

    @Test("Tampered copies fail their signature; every sample fails outside its certificates' validity", arguments: samples())
    func rejects(_ name: String) throws {
        let s = try Self.load(name)
        let verifier = try Self.verifier()
        for file in ["report-tampered-body.bin", "report-tampered-sig.bin"] {
            let tampered = try Data(contentsOf: s.folder.appendingPathComponent(file))
            #expect(verifier.verify(report: tampered, vcek: s.vcek, chain: s.chain, at: s.asOf) == .rejected([AttestationFailure(.signatureInvalid, "the report's ECDSA P-384 signature does not verify with the VCEK")]), "\(name)/\(file)")
        }
        guard case .rejected(let failures) = verifier.verify(report: s.report, vcek: s.vcek, chain: s.chain, at: Date(timeIntervalSince1970: 1_500_000_000)) else {
            Issue.record("\(name) verified in 2017")
            return
        }
        #expect(failures.map(\.reason) == [.certificateExpired])
    }

    @Test("A chain to another root, a swapped chain and random mutations are rejected")
    func badChains() throws {
        let s = try Self.load("milan-v2-virtee")
        let verifier = try Self.verifier()
        if case .verified = verifier.verify(report: s.report, vcek: s.vcek, chain: s.chain.reversed(), at: s.asOf) { Issue.record("swapped chain accepted") }
        let genoa = try AMDCertificate.pem(try String(contentsOf: Self.dir.appendingPathComponent("roots/cert_chain-genoa.pem"), encoding: .utf8))
        if case .verified = verifier.verify(report: s.report, vcek: s.vcek, chain: genoa, at: s.asOf) { Issue.record("wrong product chain accepted") }
        let onlyGenoa = try SNPAttestationVerifier(arkPEMs: [try String(contentsOf: Self.dir.appendingPathComponent("roots/ark-genoa.pem"), encoding: .utf8)])
        #expect(onlyGenoa.verify(report: s.report, vcek: s.vcek, chain: s.chain, at: s.asOf) == .rejected([AttestationFailure(.chainInvalid, "the ARK is not a pinned AMD root")]))
        for _ in 0..<2000 {
            var mutated = s.report
            let i = Int.random(in: 0..<SNPReport.signedLength)
            mutated[i] ^= UInt8.random(in: 1...255)
            if case .verified = verifier.verify(report: mutated, vcek: s.vcek, chain: s.chain, at: s.asOf) { Issue.record("a flip at \(i) was accepted") }
        }
        if case .verified = verifier.verify(report: s.report.prefix(1000), vcek: s.vcek, chain: s.chain, at: s.asOf) { Issue.record("truncated report accepted") }
    }

    @Test("Appraisal: a production policy rejects the debug-allowed report through the evidence bundle")
    func debugPolicy() throws {
        let s = try Self.load("milan-v2-go-sev-guest")
        let pemOf = { (c: AMDCertificate) in "-----BEGIN CERTIFICATE-----\n\(c.der.base64EncodedString(options: .lineLength64Characters))\n-----END CERTIFICATE-----\n" }
        let bundle = SNPEvidenceBundle(report: s.report, vcekPEM: pemOf(s.vcek), certChainPEM: s.chain.map(pemOf).joined())
        let evidence = Evidence(tee: .snp, bytes: try JSONEncoder().encode(bundle))
        let measurement = try #require((s.manifest["expected"] as? [String: Any])?["measurement"] as? String)
        let appraiser = Appraiser(
            referenceValues: ReferenceValues(sets: [ReferenceValueSet(id: "snp-prod", tee: .snp, measurements: [measurement])], acceptMockEvidence: false),
            verifiers: [try Self.verifier()])
        let result = appraiser.appraise(evidence, reportData: .insecureSkipBindingCheck, now: s.asOf)
        #expect(result.status == .contraindicated)
        #expect(result.failures.map(\.reason) == [.debugEnabled])
    }
}

@Suite("SEV-SNP chain cache", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct SNPCacheTests {
    @Test("A cached chain skips only the chain: the report signature and validity are still checked")
    func cache() throws {
        let s = try SNPTests.load("milan-v2-virtee")
        var verifier = SNPAttestationVerifier()
        verifier.chainCache = VerifiedChainCache()
        if case .rejected(let f) = verifier.verify(report: s.report, vcek: s.vcek, chain: s.chain, at: s.asOf) { Issue.record("\(f)") }
        let tampered = try Data(contentsOf: s.folder.appendingPathComponent("report-tampered-body.bin"))
        guard case .rejected(let failures) = verifier.verify(report: tampered, vcek: s.vcek, chain: s.chain, at: s.asOf) else {
            Issue.record("a tampered report passed with a cached chain")
            return
        }
        #expect(failures.map(\.reason) == [.signatureInvalid])
        guard case .rejected(let later) = verifier.verify(report: s.report, vcek: s.vcek, chain: s.chain, at: Date(timeIntervalSince1970: 2_500_000_000)) else {
            Issue.record("the cache outlived the chain's validity")
            return
        }
        #expect(later.map(\.reason) == [.certificateExpired])
    }
}
