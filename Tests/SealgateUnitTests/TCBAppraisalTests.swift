import Attestation
import Foundation
import SealgateCore
import Testing

/// A verifier that returns fixed claims: the TCB rule is appraised without hardware.
struct FixedClaimsVerifier: AttestationVerifier {
    let tee: TEEType
    let claims: VerifiedClaims
    func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome { .verified(claims) }
}

@Suite("TCB status in appraisal (synthetic claims)")
struct TCBAppraisalTests {
    static let measurement = String(repeating: "ab", count: 240)
    static let reportData = Data(repeating: 7, count: 64)

    static func appraise(
        tcb: TCBStatus?, qe: TCBStatus?, tee: TEEType = .tdx, accepted: [TCBStatus] = [.upToDate], acceptedQE: [TCBStatus] = [.upToDate],
        skip: Bool = false
    ) -> AttestationResult {
        let claims = VerifiedClaims(
            tee: tee, measurement: measurement, reportData: reportData, initDataDigest: nil, debug: false, svn: 3, signerID: "platform",
            tcbStatus: tcb, qeStatus: qe)
        let set = ReferenceValueSet(
            id: "prod", tee: tee, measurements: [measurement], acceptedTCBStatuses: accepted, acceptedQEStatuses: acceptedQE,
            insecureSkipTCBStatus: skip)
        return Appraiser(referenceValues: ReferenceValues(sets: [set], acceptMockEvidence: false), verifiers: [FixedClaimsVerifier(tee: tee, claims: claims)])
            .appraise(Evidence(tee: tee, bytes: Data("evidence".utf8)), reportData: .equals(reportData), now: Date(timeIntervalSince1970: 1_800_000_000))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let tcb: TCBStatus?
        let qe: TCBStatus?
        let accepted: [TCBStatus]
        let skip: Bool
        let status: AppraisalStatus
        let reasons: [AttestationReason]
        let hardware: Int
        var testDescription: String { "\(tcb?.rawValue ?? "nil")/\(qe?.rawValue ?? "nil") accepting \(accepted.map(\.rawValue))\(skip ? " skip" : "")" }
    }

    static let cases: [Case] = [
        Case(tcb: .upToDate, qe: .upToDate, accepted: [.upToDate], skip: false, status: .affirming, reasons: [], hardware: 2),
        // A TDX quote nobody rated (no status at all) is judged as not evaluated: refused unless the set skips.
        Case(tcb: nil, qe: nil, accepted: [.upToDate], skip: false, status: .contraindicated, reasons: [.tcbStatusUnknown, .tcbStatusUnknown], hardware: 0),
        Case(tcb: nil, qe: nil, accepted: [.upToDate], skip: true, status: .warning, reasons: [], hardware: 32),
        Case(tcb: .swHardeningNeeded, qe: .upToDate, accepted: [.upToDate], skip: false, status: .contraindicated, reasons: [.tcbStatusNotAccepted], hardware: 96),
        Case(tcb: .swHardeningNeeded, qe: .upToDate, accepted: [.upToDate, .swHardeningNeeded], skip: false, status: .warning, reasons: [], hardware: 32),
        Case(tcb: .configurationNeeded, qe: .upToDate, accepted: [.upToDate, .swHardeningNeeded], skip: false, status: .contraindicated, reasons: [.tcbStatusNotAccepted], hardware: 96),
        Case(tcb: .configurationNeeded, qe: .upToDate, accepted: [.upToDate, .configurationNeeded], skip: false, status: .warning, reasons: [], hardware: 32),
        Case(tcb: .outOfDate, qe: .upToDate, accepted: [.upToDate], skip: false, status: .contraindicated, reasons: [.tcbOutOfDate], hardware: 96),
        Case(tcb: .outOfDate, qe: .upToDate, accepted: [.upToDate, .outOfDate], skip: false, status: .warning, reasons: [], hardware: 32),
        Case(tcb: .revoked, qe: .upToDate, accepted: [.upToDate, .revoked], skip: false, status: .contraindicated, reasons: [.tcbRevoked], hardware: 96),
        Case(tcb: .noMatchingTCBLevel, qe: .upToDate, accepted: [.upToDate, .noMatchingTCBLevel, .outOfDate], skip: false, status: .contraindicated, reasons: [.tcbOutOfDate], hardware: 96),
        Case(tcb: .upToDate, qe: .outOfDate, accepted: [.upToDate], skip: false, status: .contraindicated, reasons: [.tcbOutOfDate], hardware: 96),
        Case(tcb: .upToDate, qe: .revoked, accepted: [.upToDate], skip: false, status: .contraindicated, reasons: [.tcbRevoked], hardware: 96),
        Case(tcb: .notEvaluated, qe: .notEvaluated, accepted: [.upToDate], skip: false, status: .contraindicated, reasons: [.tcbStatusUnknown, .tcbStatusUnknown], hardware: 0),
        Case(tcb: .notEvaluated, qe: .notEvaluated, accepted: [.upToDate, .notEvaluated], skip: false, status: .contraindicated, reasons: [.tcbStatusUnknown, .tcbStatusUnknown], hardware: 0),
        Case(tcb: .notEvaluated, qe: .notEvaluated, accepted: [.upToDate], skip: true, status: .warning, reasons: [], hardware: 32),
        Case(tcb: .outOfDate, qe: .notEvaluated, accepted: [.upToDate], skip: true, status: .contraindicated, reasons: [.tcbOutOfDate], hardware: 96),
        Case(tcb: .revoked, qe: .notEvaluated, accepted: [.upToDate], skip: false, status: .contraindicated, reasons: [.tcbRevoked, .tcbStatusUnknown], hardware: 96),
    ]

    @Test("Each platform/QE status under each accepted list gives the EAR status, reasons and AR4SI hardware tier", arguments: cases)
    func statuses(_ c: Case) {
        let result = Self.appraise(tcb: c.tcb, qe: c.qe, accepted: c.accepted, skip: c.skip)
        #expect(result.status == c.status)
        #expect(result.failures.map(\.reason) == c.reasons)
        #expect(result.trustworthiness.hardware == c.hardware)
        #expect(result.tcbStatus == c.tcb)
        #expect(result.qeStatus == c.qe)
        #expect(result.referenceValueSet == "prod")
    }

    @Test("The QE list is separate from the platform list")
    func qeList() {
        #expect(Self.appraise(tcb: .upToDate, qe: .swHardeningNeeded, accepted: [.upToDate, .swHardeningNeeded]).failures.map(\.reason) == [.tcbStatusNotAccepted])
        let accepted = Self.appraise(tcb: .upToDate, qe: .swHardeningNeeded, acceptedQE: [.upToDate, .swHardeningNeeded])
        #expect(accepted.status == .warning)
        #expect(accepted.failures.isEmpty)
    }

    @Test("Evidence types without a TCB rating (nil) are not touched by the rule; the result JSON then has no tcb_status key")
    func untouched() throws {
        let result = Self.appraise(tcb: nil, qe: nil, tee: .snp)
        #expect(result.status == .affirming)
        // The two TDX types are rated by Intel's collateral: nil there is never "nothing to rate".
        for tee in [TEEType.tdx, TEEType("az-tdx-vtpm")] {
            #expect(Self.appraise(tcb: nil, qe: nil, tee: tee).failures.map(\.reason) == [.tcbStatusUnknown, .tcbStatusUnknown], "\(tee)")
        }
        #expect(Self.appraise(tcb: nil, qe: nil, tee: .nitro).status == .affirming)
        let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        #expect(!json.contains("tcb_status") && !json.contains("qe_status"))
        let rated = String(decoding: try JSONEncoder().encode(Self.appraise(tcb: .upToDate, qe: .upToDate)), as: UTF8.self)
        #expect(rated.contains("\"tcb_status\":\"UpToDate\"") && rated.contains("\"qe_status\":\"UpToDate\""))
        #expect(try JSONDecoder().decode(AttestationResult.self, from: Data(rated.utf8)).tcbStatus == .upToDate)
    }

    @Test("Reference values: defaults, explicit lists, and statuses no set may accept")
    func decoding() throws {
        func set(_ extra: String) throws -> ReferenceValueSet {
            try JSONDecoder().decode(ReferenceValueSet.self, from: Data(#"{"id": "a", "tee": "tdx", "measurements": ["ab"]\#(extra)}"#.utf8))
        }
        let plain = try set("")
        #expect(plain.acceptedTCBStatuses == [.upToDate] && plain.acceptedQEStatuses == [.upToDate] && !plain.insecureSkipTCBStatus)
        let lenient = try set(
            #", "accepted_tcb_statuses": ["UpToDate", "SWHardeningNeeded"], "accepted_qe_statuses": ["UpToDate", "OutOfDate"], "insecure_skip_tcb_status": true"#)
        #expect(lenient.acceptedTCBStatuses == [.upToDate, .swHardeningNeeded])
        #expect(lenient.acceptedQEStatuses == [.upToDate, .outOfDate])
        #expect(lenient.insecureSkipTCBStatus)
        let roundTrip = try JSONDecoder().decode(ReferenceValueSet.self, from: JSONEncoder().encode(lenient))
        #expect(roundTrip == lenient)
        for bad in ["Revoked", "NoMatchingTcbLevel", "NotEvaluated"] {
            #expect(throws: DecodingError.self) { try set(#", "accepted_tcb_statuses": ["UpToDate", "\#(bad)"]"#) }
            #expect(throws: DecodingError.self) { try set(#", "accepted_qe_statuses": ["\#(bad)"]"#) }
        }
        let values = try JSONDecoder().decode(ReferenceValues.self, from: Data(#"{"sets": [{"id": "a", "tee": "tdx", "measurements": ["ab"]}], "mock_signers": []}"#.utf8))
        #expect(values.sets.first?.acceptedTCBStatuses == [.upToDate])
    }
}
