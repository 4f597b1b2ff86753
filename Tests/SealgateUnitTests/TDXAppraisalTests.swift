import Attestation
@testable import AttestationTDX
import Foundation
import SealgateCore
import Testing

/// The TDX samples of `../shared/vectors` appraised with their collateral: the TCB and QE statuses reach the claims
/// and the appraisal enforces them.
@Suite("TDX appraisal with collateral (real samples)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct TDXAppraisalTests {
    struct Sample {
        let quote: Data
        let asOf: Date
        let collateral: TDXCollateral
        let expected: [String: Any]
    }

    /// Reads a sample and the collateral its manifest names (the test reads the files itself, as a caller would).
    static func sample(_ name: String) throws -> Sample {
        let dir = TDXTests.dir.appendingPathComponent(name)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as? [String: Any])
        let paths = manifest["collateral"] as? [String: String] ?? [:]
        func file(_ key: String) -> Data? { paths[key].flatMap { try? Data(contentsOf: dir.appendingPathComponent($0)) } }
        let collateral = TDXCollateral(
            tcbInfoJSON: file("tcb_info"), qeIdentityJSON: file("qe_identity"),
            tcbSigningChainPEM: file("tcb_signing_chain").map { String(decoding: $0, as: UTF8.self) }, pckCRL: file("pck_crl"),
            rootCACRL: file("root_ca_crl"))
        let (expected, asOf) = try TDXTests.manifest(name)
        return Sample(quote: try Data(contentsOf: dir.appendingPathComponent("quote.bin")), asOf: asOf, collateral: collateral, expected: expected)
    }

    static func appraise(_ s: Sample, collateral: TDXCollateral?, set: (String) -> ReferenceValueSet) throws -> (VerifiedClaims, AttestationResult) {
        var verifier = TDXAttestationVerifier()
        verifier.collateral = collateral
        let evidence = Evidence(tee: .tdx, bytes: s.quote)
        guard case .verified(let claims) = verifier.verify(evidence, now: s.asOf) else {
            Issue.record("rejected: \(verifier.verify(evidence, now: s.asOf))")
            throw CancellationError()
        }
        let values = ReferenceValues(sets: [set(claims.measurement)], acceptMockEvidence: false)
        let result = Appraiser(referenceValues: values, verifiers: [verifier]).appraise(evidence, reportData: .equals(claims.reportData), now: s.asOf)
        return (claims, result)
    }

    static func production(_ measurement: String) -> ReferenceValueSet { ReferenceValueSet(id: "prod", tee: .tdx, measurements: [measurement]) }

    @Test("Under the default policy: v4-phala affirms; unmatched TCB levels are tcb_out_of_date; a missing QE Identity is tcb_status_unknown")
    func defaults() throws {
        let cases: [(String, AppraisalStatus, [AttestationReason])] = [
            ("v4-phala", .affirming, []),
            ("v4-spr-go-tdx-guest", .contraindicated, [.septVEEnabled, .tcbOutOfDate]),
            ("v5-go-tdx-guest", .contraindicated, [.tcbStatusUnknown]),
            ("v5-phala-outdated", .contraindicated, [.tcbOutOfDate]),
        ]
        for (name, status, reasons) in cases {
            let s = try Self.sample(name)
            let (claims, result) = try Self.appraise(s, collateral: s.collateral, set: Self.production)
            #expect(claims.tcbStatus?.rawValue == s.expected["tcb_status"] as? String, "\(name)")
            #expect(claims.qeStatus?.rawValue == (s.expected["qe_tcb_status"] as? String ?? "NotEvaluated"), "\(name)")
            #expect(result.status == status, "\(name)")
            #expect(result.failures.map(\.reason) == reasons, "\(name): \(result.failures)")
            #expect(result.tcbStatus == claims.tcbStatus)
            #expect(result.trustworthiness.hardware == (status == .affirming ? 2 : reasons == [.tcbStatusUnknown] ? 0 : 96), "\(name)")
        }
    }

    @Test("v5-phala-outdated matches no TCB level: accepting OutOfDate or every current status does not let it through")
    func outdatedStaysRejected() throws {
        let s = try Self.sample("v5-phala-outdated")
        let lenient: (String) -> ReferenceValueSet = {
            ReferenceValueSet(
                id: "lenient", tee: .tdx, measurements: [$0],
                acceptedTCBStatuses: [.upToDate, .swHardeningNeeded, .configurationNeeded, .configurationAndSWHardeningNeeded, .outOfDate, .outOfDateConfigurationNeeded],
                acceptedQEStatuses: [.upToDate, .outOfDate], insecureSkipTCBStatus: true)
        }
        let (_, result) = try Self.appraise(s, collateral: s.collateral, set: lenient)
        #expect(result.status == .contraindicated)
        #expect(result.failures.map(\.reason) == [.tcbOutOfDate])
    }

    @Test("Without collateral both statuses are NotEvaluated: tcb_status_unknown, or warning under insecure_skip_tcb_status")
    func noCollateral() throws {
        let s = try Self.sample("v4-phala")
        let (claims, strict) = try Self.appraise(s, collateral: nil, set: Self.production)
        #expect(claims.tcbStatus == .notEvaluated && claims.qeStatus == .notEvaluated)
        #expect(strict.failures.map(\.reason) == [.tcbStatusUnknown, .tcbStatusUnknown])
        let (_, skipped) = try Self.appraise(s, collateral: nil) { ReferenceValueSet(id: "dev", tee: .tdx, measurements: [$0], insecureSkipTCBStatus: true) }
        #expect(skipped.status == .warning)
        #expect(skipped.failures.isEmpty)
        #expect(skipped.trustworthiness.hardware == 32)
        let (_, partial) = try Self.appraise(s, collateral: TDXCollateral(tcbInfoJSON: s.collateral.tcbInfoJSON, tcbSigningChainPEM: s.collateral.tcbSigningChainPEM), set: Self.production)
        #expect(partial.failures.map(\.reason) == [.tcbStatusUnknown])
        #expect(partial.tcbStatus == .upToDate && partial.qeStatus == .notEvaluated)
    }

    @Test("Collateral that is given must verify: tampered TCB Info, stale CRLs and a missing signing chain reject the evidence")
    func badCollateral() throws {
        let s = try Self.sample("v4-phala")
        var verifier = TDXAttestationVerifier()
        func reasons(_ collateral: TDXCollateral, at date: Date? = nil) -> [AttestationReason] {
            verifier.collateral = collateral
            guard case .rejected(let f) = verifier.verify(Evidence(tee: .tdx, bytes: s.quote), now: date ?? s.asOf) else { return [] }
            return f.map(\.reason)
        }
        var tampered = s.collateral
        var info = try #require(tampered.tcbInfoJSON)
        let at = try #require(info.range(of: Data("\"tcbLevels\"".utf8))).lowerBound
        info[at + 3] ^= 0x01
        tampered.tcbInfoJSON = info
        #expect(reasons(tampered) == [.signatureInvalid])
        var noChain = s.collateral
        noChain.tcbSigningChainPEM = nil
        #expect(reasons(noChain) == [.malformedEvidence])
        #expect(reasons(TDXCollateral(pckCRL: s.collateral.pckCRL, rootCACRL: s.collateral.rootCACRL), at: s.asOf.addingTimeInterval(800 * 86_400)) == [.evidenceExpired])
        var swapped = s.collateral
        swapped.pckCRL = s.collateral.rootCACRL
        #expect(reasons(swapped) == [.chainInvalid])
    }

    /// The sample quote with its certification data replaced by PPID-style data (type 3) that carries no PCK chain.
    static func chainless(_ quote: TDXQuote) -> Data {
        func le16(_ v: Int) -> Data { Data([UInt8(v & 0xff), UInt8(v >> 8 & 0xff)]) }
        func le32(_ v: Int) -> Data { Data((0..<4).map { UInt8(v >> (8 * $0) & 0xff) }) }
        var inner = quote.qeReport + quote.qeReportSignature + le16(quote.qeAuthData.count) + quote.qeAuthData
        inner += le16(3) + le32(6) + Data([1, 2, 3, 4, 5, 6])
        let signatureData = quote.signature + quote.attestationKey + le16(6) + le32(inner.count) + inner
        return quote.signedRegion + le32(signatureData.count) + signatureData
    }

    @Test("A quote without an embedded PCK chain verifies only with a chain supplied; the supplied chain is checked like an embedded one")
    func suppliedChain() throws {
        let s = try Self.sample("v4-phala")
        let original = try TDXQuote(s.quote)
        let bytes = Self.chainless(original)
        let parsed = try TDXQuote(bytes)
        #expect(parsed.certificationDataType == 3 && parsed.pckChainData.isEmpty)
        var verifier = TDXAttestationVerifier()
        guard case .rejected(let missing) = verifier.verify(Evidence(tee: .tdx, bytes: bytes), now: s.asOf) else {
            Issue.record("a chainless quote verified without a chain")
            return
        }
        #expect(missing.map(\.reason) == [.chainInvalid])
        verifier.pckChainPEM = original.pckChainPEM
        verifier.collateral = s.collateral
        guard case .verified(let claims) = verifier.verify(Evidence(tee: .tdx, bytes: bytes), now: s.asOf),
            case .verified(let reference) = verifier.verify(Evidence(tee: .tdx, bytes: s.quote), now: s.asOf)
        else {
            Issue.record("the chainless quote with a supplied chain was rejected")
            return
        }
        #expect(claims == reference)
        #expect(claims.tcbStatus == .upToDate)
        // Only the leaf and its CA: the chain does not reach the pinned root.
        let certificates = original.pckChainPEM.components(separatedBy: "-----END CERTIFICATE-----")
        verifier.pckChainPEM = certificates.prefix(2).joined(separator: "-----END CERTIFICATE-----") + "-----END CERTIFICATE-----\n"
        guard case .rejected(let short) = verifier.verify(Evidence(tee: .tdx, bytes: bytes), now: s.asOf) else {
            Issue.record("a chain without the root was accepted")
            return
        }
        #expect(short.map(\.reason) == [.chainInvalid])
    }
}

/// Intel's TDX module rule (TCB Info v3): a TDX 1.5+ module (TEE_TCB_SVN[1] > 0) is rated by its identity
/// `TDX_<major>` and the levels compare TEE_TCB_SVN from byte 2; an out-of-date module makes a current platform out
/// of date. Before, all 16 bytes were compared with the levels, and a module Intel grades OutOfDate came out UpToDate.
@Suite("TDX module identities (real TCB Info v3)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct TDXModuleIdentityTests {
    @Test("TEE_TCB_SVN by module SVN: 11 UpToDate, 5 and 4 OutOfDate, 1 below every level; unknown module versions and signers refused")
    func moduleLevels() throws {
        let s = try TDXAppraisalTests.sample("v5-go-tdx-guest")
        let quote = try TDXQuote(s.quote)
        let chain = try quote.pckCertificates()
        let pck = try PCKExtensions(try #require(chain.first))
        let info = try TDXTCBInfo(
            json: try #require(s.collateral.tcbInfoJSON), signingChainPEM: try #require(s.collateral.tcbSigningChainPEM), root: try #require(chain.last),
            at: s.asOf)
        let real = [UInt8](quote.teeTCBSVN)
        #expect(real[1] == 1, "a TDX 1.5 module: the case the rule is about")
        func status(_ moduleSVN: UInt8, major: UInt8 = 1, signer: Data? = nil) throws -> TCBStatus {
            var tee = real
            tee[0] = moduleSVN
            tee[1] = major
            return try info.status(
                pck: pck, teeTCBSVN: Data(tee), mrSignerSEAM: signer ?? quote.mrSignerSEAM, seamAttributes: quote.seamAttributes)
        }
        // TDX_01's levels in this TCB Info: isvsvn 6 UpToDate, 4 OutOfDate, 2 OutOfDate.
        #expect(try status(real[0]) == .upToDate)
        #expect(try status(5) == .outOfDate)
        #expect(try status(4) == .outOfDate)
        #expect(try status(1) == .noMatchingTCBLevel)
        // TDX_03 is listed (isvsvn 3 UpToDate); TDX_07 is not.
        #expect(try status(3, major: 3) == .upToDate)
        #expect(throws: AttestationError.self) { try status(11, major: 7) }
        // Another module signer than the identity names.
        #expect(throws: AttestationError.self) { try status(11, signer: Data(repeating: 0xAB, count: 48)) }
    }

    @Test("Converging: an out-of-date module makes a current platform out of date; revoked or unmatched modules decide")
    func converge() {
        #expect(TDXTCBInfo.converge(platform: .upToDate, module: nil) == .upToDate)
        #expect(TDXTCBInfo.converge(platform: .upToDate, module: .upToDate) == .upToDate)
        #expect(TDXTCBInfo.converge(platform: .upToDate, module: .outOfDate) == .outOfDate)
        #expect(TDXTCBInfo.converge(platform: .swHardeningNeeded, module: .outOfDate) == .outOfDate)
        #expect(TDXTCBInfo.converge(platform: .configurationNeeded, module: .outOfDate) == .outOfDateConfigurationNeeded)
        #expect(TDXTCBInfo.converge(platform: .outOfDate, module: .upToDate) == .outOfDate)
        #expect(TDXTCBInfo.converge(platform: .upToDate, module: .revoked) == .revoked)
        #expect(TDXTCBInfo.converge(platform: .upToDate, module: .noMatchingTCBLevel) == .noMatchingTCBLevel)
    }

    @Test("TDATTRIBUTES SEPT_VE_DISABLE and MRSERVICETD as the real quotes carry them: v4-spr-go-tdx-guest lacks SEPT_VE_DISABLE and is refused sept_ve_enabled unless the set says insecure_allow_sept_ve; no sample binds a service TD")
    func tdAttributes() throws {
        for (name, septVEDisabled, tdx15) in [("v4-phala", true, false), ("v4-spr-go-tdx-guest", false, false), ("v5-go-tdx-guest", true, true), ("v5-phala-outdated", true, true)] {
            let s = try TDXAppraisalTests.sample(name)
            let (claims, result) = try TDXAppraisalTests.appraise(s, collateral: s.collateral, set: TDXAppraisalTests.production)
            #expect(claims.tdx?.septVEDisabled == septVEDisabled, "\(name)")
            #expect(claims.tdx?.mrServiceTD == (tdx15 ? Data(count: 48) : nil), "\(name)")
            #expect(claims.tdx?.bindsServiceTD == false, "\(name)")
            #expect(result.failures.map(\.reason).contains(.septVEEnabled) == !septVEDisabled, "\(name): \(result.failures)")
            let (_, lenient) = try TDXAppraisalTests.appraise(s, collateral: s.collateral) {
                ReferenceValueSet(id: "prod", tee: .tdx, measurements: [$0], insecureAllowSEPTVE: true)
            }
            #expect(!lenient.failures.map(\.reason).contains(.septVEEnabled), "\(name)")
        }
    }
}
