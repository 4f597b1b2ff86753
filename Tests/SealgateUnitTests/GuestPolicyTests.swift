import Attestation
import AttestationSEVSNP
import Foundation
import SealgateCore
import Testing

/// Settings of the guest that the launch measurement does not cover, chosen by the host or by who asks inside the
/// guest: the SEV-SNP VMPL the report was requested from, and whether the guest may be migrated (SEV-SNP migration
/// agent, TDX MIGRATABLE). A set accepts VMPL 0 and no migration unless it says otherwise.
@Suite("Appraisal: VMPL and migration")
struct GuestPolicyTests {
    static let measurement = String(repeating: "cd", count: 48)
    static let reportData = Data(repeating: 9, count: 64)

    static func appraise(
        vmpl: Int?, migratable: Bool, tee: TEEType = .snp, tdx: TDXGuestClaims? = nil, set edit: (inout ReferenceValueSet) -> Void = { _ in }
    ) -> AttestationResult {
        let claims = VerifiedClaims(
            tee: tee, measurement: measurement, reportData: reportData, initDataDigest: nil, debug: false, svn: 3, signerID: "chip",
            vmpl: vmpl, migratable: migratable, tdx: tdx)
        var set = ReferenceValueSet(id: "prod", tee: tee, measurements: [measurement], insecureSkipTCBStatus: ReferenceValueSet.tdxTypes.contains(tee))
        edit(&set)
        return Appraiser(referenceValues: ReferenceValues(sets: [set], acceptMockEvidence: false), verifiers: [FixedClaimsVerifier(tee: tee, claims: claims)])
            .appraise(Evidence(tee: tee, bytes: Data("evidence".utf8)), reportData: .equals(reportData), now: Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test("VMPL above the set's max_vmpl (default 0) is refused vmpl_not_allowed; within it, and for types without a VMPL, it is no check")
    func vmpl() {
        #expect(Self.appraise(vmpl: 0, migratable: false).status == .affirming)
        for level in 1...3 {
            let refused = Self.appraise(vmpl: level, migratable: false)
            #expect(refused.status == .contraindicated && refused.failures.map(\.reason) == [.vmplNotAllowed], "VMPL \(level)")
            #expect(refused.trustworthiness.configuration == 96)
            #expect(Self.appraise(vmpl: level, migratable: false) { $0.maxVMPL = level }.status == .affirming, "VMPL \(level) allowed")
            #expect(Self.appraise(vmpl: level, migratable: false) { $0.maxVMPL = level - 1 }.failures.map(\.reason) == [.vmplNotAllowed])
        }
        #expect(Self.appraise(vmpl: nil, migratable: false, tee: .nitro).status == .affirming)
    }

    @Test("A migratable guest is refused migration_allowed unless the set says insecure_allow_migration", arguments: [TEEType.snp, .tdx])
    func migration(_ tee: TEEType) {
        let refused = Self.appraise(vmpl: tee == .snp ? 0 : nil, migratable: true, tee: tee)
        #expect(refused.status == .contraindicated && refused.failures.map(\.reason) == [.migrationAllowed], "\(refused.failures)")
        let allowed = Self.appraise(vmpl: tee == .snp ? 0 : nil, migratable: true, tee: tee) { $0.insecureAllowMigration = true }
        #expect(allowed.failures.isEmpty, "\(allowed.failures)")
    }

    @Test("A TD without SEPT_VE_DISABLE is refused sept_ve_enabled unless the set says insecure_allow_sept_ve")
    func septVE() {
        let tee = TEEType.tdx
        let hardened = TDXGuestClaims(septVEDisabled: true, mrServiceTD: Data(count: 48))
        #expect(Self.appraise(vmpl: nil, migratable: false, tee: tee, tdx: hardened) { $0.insecurePinsParavisorOnly = true }.failures.isEmpty)
        let open = TDXGuestClaims(septVEDisabled: false, mrServiceTD: nil)
        let refused = Self.appraise(vmpl: nil, migratable: false, tee: tee, tdx: open) { $0.insecurePinsParavisorOnly = true }
        #expect(refused.status == .contraindicated && refused.failures.map(\.reason) == [.septVEEnabled], "\(refused.failures)")
        #expect(refused.trustworthiness.configuration == 96)
        let allowed = Self.appraise(vmpl: nil, migratable: false, tee: tee, tdx: open) {
            $0.insecurePinsParavisorOnly = true
            $0.insecureAllowSEPTVE = true
        }
        #expect(allowed.failures.isEmpty, "\(allowed.failures)")
        // An az-tdx-vtpm TD is Azure's paravisor, which handles the guest's EPT violations: the bit is not checked.
        let paravisor = Self.appraise(vmpl: nil, migratable: false, tee: .azureTDXVTPM, tdx: open) { $0.insecurePinsParavisorOnly = true }
        #expect(paravisor.failures.isEmpty, "\(paravisor.failures)")
    }

    @Test("A bound service TD (MRSERVICETD not zero) is refused service_td_not_allowed unless the set lists it; none bound always passes")
    func serviceTD() {
        let bound = Data((0..<48).map { UInt8($0 + 1) })
        let claims = TDXGuestClaims(septVEDisabled: true, mrServiceTD: bound)
        let refused = Self.appraise(vmpl: nil, migratable: false, tee: .tdx, tdx: claims)
        #expect(refused.failures.map(\.reason) == [.serviceTDNotAllowed], "\(refused.failures)")
        let other = Self.appraise(vmpl: nil, migratable: false, tee: .tdx, tdx: claims) { $0.serviceTDs = [String(repeating: "ab", count: 48)] }
        #expect(other.failures.map(\.reason) == [.serviceTDNotAllowed])
        let listed = Self.appraise(vmpl: nil, migratable: false, tee: .tdx, tdx: claims) { $0.serviceTDs = [Hex.encode(bound).uppercased()] }
        #expect(listed.failures.isEmpty, "\(listed.failures)")
        for none in [Data(count: 48), nil] {
            #expect(Self.appraise(vmpl: nil, migratable: false, tee: .tdx, tdx: TDXGuestClaims(septVEDisabled: true, mrServiceTD: none)).failures.isEmpty)
        }
    }

    @Test("Reference values: insecure_allow_sept_ve and service_tds only on TDX sets; service_tds are 96 hex digits")
    func tdxDecoding() throws {
        func set(_ tee: String, _ extra: String) throws -> ReferenceValueSet {
            try JSONDecoder().decode(ReferenceValueSet.self, from: Data(#"{"id":"s","tee":"\#(tee)","measurements":["ab"]\#(extra)}"#.utf8))
        }
        let plain = try set("tdx", "")
        #expect(!plain.insecureAllowSEPTVE && plain.serviceTDs == nil)
        let hex = String(repeating: "0f", count: 48)
        let full = try set("tdx", #","insecure_allow_sept_ve":true,"service_tds":["\#(hex)"]"#)
        #expect(full.insecureAllowSEPTVE && full.serviceTDs == [hex])
        // What the broker writes back (every non-optional key, false included) reads again for any type.
        #expect(try JSONDecoder().decode(ReferenceValueSet.self, from: JSONEncoder().encode(try set("snp", ""))) == (try set("snp", "")))
        for bad in [(#"snp"#, #","insecure_allow_sept_ve":true"#), ("az-tdx-vtpm", #","insecure_pins_paravisor_only":true,"insecure_allow_sept_ve":true"#), ("nitro", #","service_tds":[]"#), ("tdx", #","service_tds":["abc"]"#),
                    ("tdx", #","service_tds":["\#(String(repeating: "zz", count: 48))"]"#)] {
            #expect(throws: DecodingError.self, "\(bad)") { try set(bad.0, bad.1) }
        }
    }

    @Test("Reference values: max_vmpl defaults to 0 and must be 0–3; insecure_allow_migration defaults to false")
    func decoding() throws {
        func set(_ extra: String) throws -> ReferenceValueSet {
            try JSONDecoder().decode(ReferenceValueSet.self, from: Data(#"{"id":"s","tee":"snp","measurements":["ab"]\#(extra)}"#.utf8))
        }
        let plain = try set("")
        #expect(plain.maxVMPL == 0 && !plain.insecureAllowMigration)
        #expect(try set(#","max_vmpl":2,"insecure_allow_migration":true"#).maxVMPL == 2)
        #expect(try set(#","insecure_allow_migration":true"#).insecureAllowMigration)
        for bad in ["-1", "4", "\"1\""] { #expect(throws: DecodingError.self, "\(bad)") { try set(#","max_vmpl":\#(bad)"#) } }
    }

    @Test("A real VMPL 1 report (GCP, x25519-bound) carries vmpl 1 and is refused by a set for its measurement unless max_vmpl allows 1",
        .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
    func realVMPL1() throws {
        let s = try SNPTests.load("milan-v5-gcp-x25519-teekit")
        let pemOf = { (c: AMDCertificate) in "-----BEGIN CERTIFICATE-----\n\(c.der.base64EncodedString(options: .lineLength64Characters))\n-----END CERTIFICATE-----\n" }
        let bundle = SNPEvidenceBundle(report: s.report, vcekPEM: pemOf(s.vcek), certChainPEM: s.chain.map(pemOf).joined())
        let evidence = Evidence(tee: .snp, bytes: try JSONEncoder().encode(bundle))
        guard case .verified(let claims) = SNPAttestationVerifier().verify(evidence, now: s.asOf) else {
            Issue.record("the sample did not verify")
            return
        }
        #expect(claims.vmpl == 1 && !claims.migratable)
        func appraise(maxVMPL: Int) -> AttestationResult {
            let set = ReferenceValueSet(id: "snp-prod", tee: .snp, measurements: [claims.measurement], maxVMPL: maxVMPL)
            return Appraiser(referenceValues: ReferenceValues(sets: [set], acceptMockEvidence: false), verifiers: [SNPAttestationVerifier()])
                .appraise(evidence, reportData: .equals(claims.reportData), now: s.asOf)
        }
        #expect(appraise(maxVMPL: 0).failures.map(\.reason) == [.vmplNotAllowed])
        #expect(appraise(maxVMPL: 1).status == .affirming)
        // The VMPL 0 report of the same image (same MEASUREMENT) passes the default set.
        let vmpl0 = try SNPTests.load("milan-v5-gcp-teekit")
        let bundle0 = SNPEvidenceBundle(report: vmpl0.report, vcekPEM: pemOf(vmpl0.vcek), certChainPEM: vmpl0.chain.map(pemOf).joined())
        guard case .verified(let claims0) = SNPAttestationVerifier().verify(Evidence(tee: .snp, bytes: try JSONEncoder().encode(bundle0)), now: vmpl0.asOf)
        else {
            Issue.record("the VMPL 0 sample did not verify")
            return
        }
        #expect(claims0.vmpl == 0 && claims0.measurement == claims.measurement)
    }
}

/// SEV-SNP's `min_svn` compares only the SNP firmware level of REPORTED_TCB; `min_tcb` sets a floor per component
/// (boot loader, TEE, SNP, microcode), so an old microcode or boot loader on current firmware is refused.
@Suite("Appraisal: SEV-SNP TCB components (min_tcb)")
struct MinTCBTests {
    static func appraise(_ components: [String: Int]?, minTCB: [String: Int]?) -> AttestationResult {
        let claims = VerifiedClaims(
            tee: .snp, measurement: GuestPolicyTests.measurement, reportData: GuestPolicyTests.reportData, initDataDigest: nil, debug: false,
            svn: components?["snp"] ?? 0, signerID: "chip", vmpl: 0, tcbComponents: components)
        let set = ReferenceValueSet(id: "prod", tee: .snp, measurements: [GuestPolicyTests.measurement], minTCB: minTCB)
        return Appraiser(referenceValues: ReferenceValues(sets: [set], acceptMockEvidence: false), verifiers: [FixedClaimsVerifier(tee: .snp, claims: claims)])
            .appraise(
                Evidence(tee: .snp, bytes: Data("evidence".utf8)), reportData: .equals(GuestPolicyTests.reportData),
                now: Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test("Each component at or above its floor passes; any one below is tcb_out_of_date; claims without components fail a floor")
    func floors() {
        let levels = ["bl": 3, "tee": 0, "snp": 8, "ucode": 115]
        #expect(Self.appraise(levels, minTCB: nil).status == .affirming)
        #expect(Self.appraise(levels, minTCB: levels).status == .affirming)
        for name in levels.keys {
            var floor = levels
            floor[name, default: 0] += 1
            let refused = Self.appraise(levels, minTCB: floor)
            #expect(refused.failures.map(\.reason) == [.tcbOutOfDate] && refused.failures.first?.detail.contains(name) == true, "\(name)")
        }
        #expect(Self.appraise(nil, minTCB: ["ucode": 1]).failures.map(\.reason) == [.tcbOutOfDate])
    }

    @Test("min_tcb: only for snp and az-snp-vtpm sets, components bl/tee/snp/ucode, levels 0-255")
    func decoding() throws {
        func set(_ tee: String, _ minTCB: String) throws -> ReferenceValueSet {
            let paravisor = tee.hasPrefix("az-") ? #","insecure_pins_paravisor_only":true"# : ""
            return try JSONDecoder().decode(
                ReferenceValueSet.self, from: Data(#"{"id":"s","tee":"\#(tee)","measurements":["ab"],"min_tcb":\#(minTCB)\#(paravisor)}"#.utf8))
        }
        #expect(try set("snp", #"{"ucode":210,"bl":7}"#).minTCB == ["ucode": 210, "bl": 7])
        #expect(try set("az-snp-vtpm", #"{"snp":22}"#).minTCB == ["snp": 22])
        for (tee, bad) in [("tdx", #"{"snp":1}"#), ("nitro", #"{"snp":1}"#), ("snp", #"{"fmc":1}"#), ("snp", #"{"ucode":256}"#), ("snp", #"{"bl":-1}"#)] {
            #expect(throws: DecodingError.self, "\(tee) \(bad)") { try set(tee, bad) }
        }
    }

    @Test("A real report: its REPORTED_TCB components as claims; a floor one microcode level above refuses it",
        .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
    func realReport() throws {
        let s = try SNPTests.load("milan-v5-gcp-teekit")
        let pemOf = { (c: AMDCertificate) in "-----BEGIN CERTIFICATE-----\n\(c.der.base64EncodedString(options: .lineLength64Characters))\n-----END CERTIFICATE-----\n" }
        let evidence = Evidence(
            tee: .snp, bytes: try JSONEncoder().encode(SNPEvidenceBundle(report: s.report, vcekPEM: pemOf(s.vcek), certChainPEM: s.chain.map(pemOf).joined())))
        guard case .verified(let claims) = SNPAttestationVerifier().verify(evidence, now: s.asOf), let levels = claims.tcbComponents else {
            Issue.record("the sample did not verify with components")
            return
        }
        #expect(levels["snp"] == claims.svn && Set(levels.keys) == ReferenceValueSet.snpTCBComponents)
        func appraise(_ floor: [String: Int]) -> AttestationResult {
            Appraiser(
                referenceValues: ReferenceValues(
                    sets: [ReferenceValueSet(id: "p", tee: .snp, measurements: [claims.measurement], minTCB: floor)], acceptMockEvidence: false),
                verifiers: [SNPAttestationVerifier()]
            ).appraise(evidence, reportData: .equals(claims.reportData), now: s.asOf)
        }
        #expect(appraise(levels).status == .affirming)
        #expect(appraise(["ucode": (levels["ucode"] ?? 0) + 1]).failures.map(\.reason) == [.tcbOutOfDate])
    }
}

@Suite("Reference values: Azure vTPM sets")
struct ParavisorSetTests {
    @Test("A set for an Azure vTPM type must say insecure_pins_paravisor_only: true; other types need nothing")
    func paravisorOnly() throws {
        func decode(_ tee: String, _ extra: String = "") throws -> ReferenceValueSet {
            try JSONDecoder().decode(ReferenceValueSet.self, from: Data(#"{"id":"a","tee":"\#(tee)","measurements":["ab"]\#(extra)}"#.utf8))
        }
        for tee in ["az-snp-vtpm", "az-tdx-vtpm"] {
            #expect(throws: DecodingError.self, "\(tee)") { try decode(tee) }
            #expect(throws: DecodingError.self, "\(tee)") { try decode(tee, #","insecure_pins_paravisor_only":false"#) }
            #expect(try decode(tee, #","insecure_pins_paravisor_only":true"#).insecurePinsParavisorOnly)
        }
        for tee in ["snp", "tdx", "nitro", "mock"] { #expect(try !decode(tee).insecurePinsParavisorOnly) }
    }
}
