import Attestation
import AttestationAzure
import AttestationSEVSNP
import AttestationTDX
import Crypto
import Foundation
import SealgateCore
import Testing

/// Real Azure CVM evidence from `../shared/vectors/azure` (never copied into the project).
@Suite("Azure vTPM evidence (real samples)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct AzureVTPMTests {
    static let dir = SharedVectors.root.appendingPathComponent("azure")

    static func samples() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/manifest.json").path) }.sorted()
    }

    struct Sample {
        let name: String
        let manifest: [String: Any]
        let files: [String: String]
        let folder: URL
        let asOf: Date
        let isSNP: Bool
        let verifier: AzureVTPMVerifier
        let evidence: AzureVTPMEvidence

        var expected: [String: Any] { manifest["expected"] as? [String: Any] ?? [:] }
        var tee: TEEType { isSNP ? .azureSNPVTPM : .azureTDXVTPM }

        /// The sample's evidence with one manifest file replaced.
        func replacing(_ key: String, with bytes: Data) throws -> AzureVTPMEvidence {
            var e = evidence
            switch key {
            case "hcl_report": e.hclReport = bytes
            case "tpm_quote_attest": e.tpmMessage = bytes
            case "tpm_quote_sig": e.tpmSignature = bytes
            case "quote": e.tdQuote = bytes
            default: Issue.record("no field for \(key)")
            }
            return e
        }
    }

    static func load(_ name: String) throws -> Sample {
        let folder = dir.appendingPathComponent(name)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("manifest.json"))) as? [String: Any])
        let files = try #require(manifest["files"] as? [String: String])
        let asOfText = try #require(manifest["as_of"] as? String)
        let asOf = try #require(ISO8601DateFormatter().date(from: asOfText))
        let isSNP = manifest["type"] as? String == "azure-snp-vtpm"
        func read(_ key: String) throws -> Data {
            let file = try #require(files[key])
            return try Data(contentsOf: folder.appendingPathComponent(file))
        }
        let pcrs = try JSONDecoder().decode([String].self, from: read("tpm_pcrs")).map { try #require(Hex.decode($0)) }
        var evidence = AzureVTPMEvidence(hclReport: try read("hcl_report"), tpmMessage: try read("tpm_quote_attest"), tpmSignature: try read("tpm_quote_sig"), pcrs: pcrs)
        let verifier: AzureVTPMVerifier
        if isSNP {
            evidence.vcek = try #require(try AMDCertificate.pem(String(decoding: read("vcek"), as: UTF8.self)).first).der
            verifier = try AzureVTPMVerifier(certChainPEMs: [String(decoding: read("cert_chain"), as: UTF8.self)])
        } else {
            evidence.tdQuote = try read("quote")
            verifier = AzureVTPMVerifier()
        }
        return Sample(name: name, manifest: manifest, files: files, folder: folder, asOf: asOf, isSNP: isSNP, verifier: verifier, evidence: evidence)
    }

    static func claims(_ s: Sample, _ evidence: AzureVTPMEvidence? = nil) throws -> AzureVTPMClaims {
        switch s.verifier.verify(evidence ?? s.evidence, at: s.asOf) {
        case .verified(let claims): return claims
        case .rejected(let failures):
            Issue.record("\(s.name) rejected: \(failures)")
            throw CancellationError()
        }
    }

    static func reasons(_ s: Sample, _ evidence: AzureVTPMEvidence, at date: Date? = nil) -> [AttestationReason]? {
        if case .rejected(let failures) = s.verifier.verify(evidence, at: date ?? s.asOf) { return failures.map(\.reason) }
        return nil
    }

    @Test("Every sample verifies at as_of with the manifest's hardware values, nonce, PCR digest and PCRs", arguments: samples())
    func verifies(_ name: String) throws {
        let s = try Self.load(name)
        let claims = try Self.claims(s)
        switch claims.hardware {
        case .snp(let r):
            #expect(Hex.encode(r.measurement) == s.expected["measurement"] as? String)
            #expect(Hex.encode(r.chipID) == s.expected["chip_id"] as? String)
            #expect(r.vmpl == 0)
        case .tdx(let q, let rating):
            #expect(Hex.encode(q.mrTD) == s.expected["mrtd"] as? String)
            #expect(Hex.encode(q.teeTCBSVN) == s.expected["tee_tcb_svn"] as? String)
            // No Intel collateral configured: rated as nobody having rated it, never as "nothing to rate".
            #expect(rating.tcb == .notEvaluated && rating.qe == .notEvaluated)
        }
        #expect(Hex.encode(claims.hardwareReportData) == s.expected["report_data"] as? String)
        #expect(Hex.encode(claims.nonce) == s.expected["tpm_extra_data"] as? String)
        #expect(Hex.encode(claims.quote.pcrDigest) == s.expected["tpm_pcr_digest"] as? String)
        #expect(claims.quote.sha256Indices == Array(0..<24))
        #expect(claims.pcrs.count == 24 && claims.pcrs[8] == s.evidence.pcrs[8])
        #expect(claims.runtimeData.akModulus.count == 256 && claims.runtimeData.akExponent == Data([1, 0, 1]))
        #expect(claims.runtimeData.vmConfiguration?.secureBoot == true)
        #expect(claims.hcl.runtimeDataDigest == claims.hardwareReportData.prefix(32))
        let common = claims.verifiedClaims
        #expect(common.tee == s.tee && common.reportData == claims.nonce && common.measurement == claims.measurement)
        #expect(common.initDataDigest == nil && !common.debug)
        #expect(!claims.bindsInitData(Data(count: 32)))
    }

    @Test("Trustee's evidence.json, as published, verifies through the AttestationVerifier to the same claims", arguments: samples())
    func trusteeWireFormat(_ name: String) throws {
        let s = try Self.load(name)
        let claims = try Self.claims(s)
        let trustee = try Data(contentsOf: s.folder.appendingPathComponent("evidence.json"))
        #expect(s.verifier.verify(Evidence(tee: s.tee, bytes: trustee), now: s.asOf) == .verified(claims.verifiedClaims))
        let roundTrip = try AzureVTPMEvidence(json: s.evidence.json())
        #expect(roundTrip == s.evidence)
    }

    @Test("Every tampered copy in the manifest is rejected with the reason it names; so is a time outside the chain's validity", arguments: samples())
    func negatives(_ name: String) throws {
        let s = try Self.load(name)
        let negatives = try #require(s.manifest["negatives"] as? [[String: Any]])
        #expect(!negatives.isEmpty)
        for negative in negatives {
            let file = try #require(negative["file"] as? String)
            let text = try #require(negative["expect_error"] as? String)
            let want: AttestationReason = text.contains("SHA-256(HCL runtime data)") ? .reportDataMismatch : .signatureInvalid
            let tampered = try s.replacing(try #require(negative["replaces"] as? String), with: Data(contentsOf: s.folder.appendingPathComponent(file)))
            #expect(Self.reasons(s, tampered) == [want], "\(name)/\(file)")
        }
        #expect(Self.reasons(s, s.evidence, at: Date(timeIntervalSince1970: 1_000_000_000)) == [.certificateExpired])
    }

    @Test("The appraisal binds the quote's nonce: affirming with it, report_data_mismatch with any other", arguments: samples())
    func appraisal(_ name: String) throws {
        let s = try Self.load(name)
        let claims = try Self.claims(s)
        let values = ReferenceValues(sets: [ReferenceValueSet(id: "azure", tee: s.tee, measurements: [claims.measurement])], acceptMockEvidence: false)
        let appraiser = Appraiser(referenceValues: values, verifiers: [s.verifier])
        let evidence = Evidence(tee: s.tee, bytes: s.evidence.json())
        let bound = appraiser.appraise(evidence, reportData: .equals(claims.nonce), now: s.asOf)
        if s.isSNP {
            #expect(bound.status == .affirming && bound.referenceValueSet == "azure", "\(bound.failures)")
        } else {
            // A TD's platform and Quoting Enclave are rated from Intel's collateral, as a plain `tdx` quote's are:
            // without any, the appraisal refuses (tcb_status_unknown) unless the set says insecure_skip_tcb_status.
            #expect(bound.status != .affirming && bound.failures.map(\.reason) == [.tcbStatusUnknown, .tcbStatusUnknown], "\(bound.failures)")
            var lax = ReferenceValueSet(id: "azure", tee: s.tee, measurements: [claims.measurement])
            lax.insecureSkipTCBStatus = true
            let skipped = Appraiser(referenceValues: ReferenceValues(sets: [lax], acceptMockEvidence: false), verifiers: [s.verifier])
                .appraise(evidence, reportData: .equals(claims.nonce), now: s.asOf)
            #expect(skipped.status == .warning && skipped.failures.isEmpty, "\(skipped.failures)")
        }
        let other = appraiser.appraise(evidence, reportData: .equals(Data(repeating: 7, count: 64)), now: s.asOf)
        #expect(other.failures.map(\.reason).contains(.reportDataMismatch))
    }

    @Test("An Azure TD quote is rated with the TDX verifier's collateral: collateral that refuses a plain tdx quote refuses it too")
    func tdxCollateralApplies() throws {
        guard let name = Self.samples().first(where: { !$0.contains("snp") }) else {
            Issue.record("no Azure TDX sample in ../shared/vectors/azure")
            return
        }
        let s = try Self.load(name)
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/vectors/tdx/v4-phala/collateral")
        var tdx = TDXAttestationVerifier()
        tdx.collateral = try TDXCollateral.load(directory: folder.path)
        let rated = AzureVTPMVerifier(tdx: tdx)
        // The sample's as_of is past this collateral's CRLs: refused as the plain verifier refuses, not affirmed.
        guard case .rejected(let failures) = rated.verify(s.evidence, at: s.asOf) else {
            Issue.record("an Azure TD quote verified against collateral whose CRLs are not current")
            return
        }
        #expect(failures.map(\.reason) == [.evidenceExpired], "\(failures)")
    }

    @Test("Every byte of the signed TPMS_ATTEST, flipped, is rejected; so are truncations and extensions of it", arguments: samples())
    func quoteMutations(_ name: String) throws {
        let s = try Self.load(name)
        let message = s.evidence.tpmMessage
        for i in 0..<message.count {
            for flip: UInt8 in [0x01, 0x80, UInt8.random(in: 1...255)] {
                var mutated = message
                mutated[i] ^= flip
                let reasons = Self.reasons(s, try s.replacing("tpm_quote_attest", with: mutated))
                #expect(reasons == [.signatureInvalid] || reasons == [.malformedEvidence], "flip \(flip) at \(i): \(String(describing: reasons))")
            }
        }
        for cut in 0..<message.count {
            #expect(Self.reasons(s, try s.replacing("tpm_quote_attest", with: message.prefix(cut))) == [.malformedEvidence], "truncation to \(cut)")
        }
        #expect(Self.reasons(s, try s.replacing("tpm_quote_attest", with: message + Data([0]))) == [.malformedEvidence])
    }

    @Test("Flips in the signature, the PCR values and the runtime data are rejected", arguments: samples())
    func otherMutations(_ name: String) throws {
        let s = try Self.load(name)
        for _ in 0..<300 {
            var signature = s.evidence.tpmSignature
            signature[Int.random(in: 0..<signature.count)] ^= UInt8.random(in: 1...255)
            #expect(Self.reasons(s, try s.replacing("tpm_quote_sig", with: signature)) == [.signatureInvalid])
        }
        for index in 0..<s.evidence.pcrs.count {
            var e = s.evidence
            e.pcrs[index][Int.random(in: 0..<32)] ^= UInt8.random(in: 1...255)
            #expect(Self.reasons(s, e) == [.signatureInvalid], "PCR \(index)")
        }
        var fewer = s.evidence
        fewer.pcrs.removeLast()
        #expect(Self.reasons(s, fewer) == [.malformedEvidence])
        let hcl = s.evidence.hclReport
        let runtimeStart = 32 + 1184 + 20
        let runtimeSize = Int(hcl[runtimeStart - 4]) | Int(hcl[runtimeStart - 3]) << 8
        for _ in 0..<300 {
            var mutated = hcl
            mutated[runtimeStart + Int.random(in: 0..<runtimeSize)] ^= UInt8.random(in: 1...255)
            #expect(Self.reasons(s, try s.replacing("hcl_report", with: mutated)) == [.reportDataMismatch])
        }
    }

    @Test("A TPMT_SIGNATURE wrapping of the signature verifies as RSASSA and fails as RSAPSS or with another hash", arguments: samples())
    func tpmtSignature(_ name: String) throws {
        let s = try Self.load(name)
        let raw = s.evidence.tpmSignature
        func wrap(_ alg: UInt16, _ hash: UInt16) -> Data {
            Data([UInt8(alg >> 8), UInt8(alg & 0xFF), UInt8(hash >> 8), UInt8(hash & 0xFF), UInt8(raw.count >> 8), UInt8(raw.count & 0xFF)]) + raw
        }
        #expect(Self.reasons(s, try s.replacing("tpm_quote_sig", with: wrap(0x0014, 0x000B))) == nil)
        #expect(Self.reasons(s, try s.replacing("tpm_quote_sig", with: wrap(0x0016, 0x000B))) == [.signatureInvalid])
        #expect(Self.reasons(s, try s.replacing("tpm_quote_sig", with: wrap(0x0014, 0x0004))) == [.malformedEvidence])
    }

    @Test("Wrong platform, missing parts, unknown chains and hostile input are typed rejections, never a crash")
    func badInput() throws {
        let names = Self.samples()
        let snp = try Self.load(try #require(names.first { $0.hasPrefix("snp") }))
        let tdx = try Self.load(try #require(names.first { $0.hasPrefix("tdx") }))
        // Each verifier refuses the other platform's HCL report.
        #expect(Self.reasons(tdx, { var e = snp.evidence; e.tdQuote = tdx.evidence.tdQuote; return e }()) == [.unsupportedEvidence])
        #expect(Self.reasons(snp, { var e = tdx.evidence; e.vcek = snp.evidence.vcek; return e }()) == [.unsupportedEvidence])
        // SNP without a VCEK; without a chain that issued it; with a chain to an unpinned root.
        #expect(Self.reasons(snp, { var e = snp.evidence; e.vcek = nil; return e }()) == [.malformedEvidence])
        let unconfigured = try AzureVTPMVerifier(certChainPEMs: [])
        #expect(unconfigured.verify(snp.evidence, at: snp.asOf).failures == [.chainInvalid])
        let milan = try String(contentsOf: SharedVectors.root.appendingPathComponent("sev-snp/roots/cert_chain-milan.pem"), encoding: .utf8)
        #expect(unconfigured.verify({ var e = snp.evidence; e.certChainPEM = milan; return e }(), at: snp.asOf).failures == [.chainInvalid])
        // TDX without its quote.
        #expect(Self.reasons(tdx, { var e = tdx.evidence; e.tdQuote = nil; return e }()) == [.malformedEvidence])
        // HCL truncations, a wrong magic and random bytes.
        for s in [snp, tdx] {
            // Up to the end of the runtime data every cut is rejected; the zero padding after it is not part of the report.
            let hcl = s.evidence.hclReport
            let end = 32 + 1184 + 20 + (Int(hcl[1232]) | Int(hcl[1233]) << 8)
            for cut in stride(from: 0, to: end, by: 37) {
                #expect(Self.reasons(s, try s.replacing("hcl_report", with: hcl.prefix(cut))) != nil, "cut \(cut)")
            }
            #expect(Self.reasons(s, try s.replacing("hcl_report", with: hcl.prefix(end))) == nil)
            #expect(Self.reasons(s, try s.replacing("hcl_report", with: hcl.prefix(end - 1))) == [.malformedEvidence])
            var magic = s.evidence.hclReport
            magic[0] ^= 0x20
            #expect(Self.reasons(s, try s.replacing("hcl_report", with: magic)) == [.malformedEvidence])
            for _ in 0..<50 {
                let noise = Data((0..<Int.random(in: 0..<4096)).map { _ in UInt8.random(in: 0...255) })
                guard case .rejected(let f) = s.verifier.verify(Evidence(tee: s.tee, bytes: noise), now: s.asOf) else {
                    Issue.record("random bytes accepted")
                    continue
                }
                #expect(f.map(\.reason) == [.malformedEvidence])
            }
        }
        #expect(throws: AzureVTPMError.self) { try AzureVTPMEvidence(json: Data(#"{"version":1,"tpm_quote":{"message":[256],"signature":"00","pcrs":[]},"hcl_report":"AA"}"#.utf8)) }
        #expect(throws: AzureVTPMError.self) { try AzureVTPMEvidence(json: Data(#"{"version":9}"#.utf8)) }
    }
}

extension AzureVTPMVerification {
    /// The rejection reasons, empty when verified.
    var failures: [AttestationReason] {
        if case .rejected(let f) = self { return f.map(\.reason) }
        return []
    }
}
