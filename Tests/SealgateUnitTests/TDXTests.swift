import Attestation
import AttestationTDX
import Foundation
import SealgateCore
import Testing

@Suite("Intel TDX DCAP quotes (real samples)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct TDXTests {
    static let dir = SharedVectors.root.appendingPathComponent("tdx")

    static func samples() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/manifest.json").path) }.sorted()
    }

    static func verifier() throws -> TDXAttestationVerifier {
        try TDXAttestationVerifier(rootPEM: try String(contentsOf: dir.appendingPathComponent("roots/intel-sgx-root-ca.pem"), encoding: .utf8))
    }

    static func manifest(_ name: String) throws -> (expected: [String: Any], asOf: Date) {
        let m = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("\(name)/manifest.json"))) as? [String: Any])
        let text = try #require(m["as_of"] as? String)
        return (m["expected"] as? [String: Any] ?? [:], try #require(ISO8601DateFormatter().date(from: text)))
    }

    @Test("Every quote verifies at as_of (quote, QE report, binding, PCK chain) with the expected values", arguments: samples())
    func verifies(_ name: String) throws {
        let (expected, asOf) = try Self.manifest(name)
        let bytes = try Data(contentsOf: Self.dir.appendingPathComponent("\(name)/quote.bin"))
        guard case .verified(let q) = try Self.verifier().verifyQuote(bytes, at: asOf) else {
            if case .rejected(let f) = try Self.verifier().verifyQuote(bytes, at: asOf) { Issue.record("\(name): \(f)") }
            return
        }
        #expect(Hex.encode(q.mrTD) == expected["mrtd"] as? String)
        #expect(Hex.encode(q.reportData) == expected["report_data"] as? String)
        for i in 0..<4 { #expect(Hex.encode(q.rtmr(i)) == expected["rtmr\(i)"] as? String, "rtmr\(i)") }
        #expect(Hex.encode(q.teeTCBSVN) == expected["tee_tcb_svn"] as? String)
    }

    @Test("Tampered body, signature and QE report are rejected; so is a time outside the chain's validity", arguments: samples())
    func rejects(_ name: String) throws {
        let (_, asOf) = try Self.manifest(name)
        let verifier = try Self.verifier()
        for (file, reason) in [("quote-tampered-body.bin", AttestationReason.signatureInvalid), ("quote-tampered-sig.bin", .signatureInvalid), ("quote-tampered-qe-report.bin", .signatureInvalid)] {
            let url = Self.dir.appendingPathComponent("\(name)/\(file)")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            guard case .rejected(let failures) = verifier.verifyQuote(try Data(contentsOf: url), at: asOf) else {
                Issue.record("\(name)/\(file) accepted")
                continue
            }
            #expect(failures.map(\.reason) == [reason], "\(name)/\(file): \(failures)")
        }
        let bytes = try Data(contentsOf: Self.dir.appendingPathComponent("\(name)/quote.bin"))
        guard case .rejected(let failures) = verifier.verifyQuote(bytes, at: Date(timeIntervalSince1970: 1_000_000_000)) else {
            Issue.record("\(name) verified in 2001")
            return
        }
        #expect(failures.map(\.reason) == [.certificateExpired])
    }

    @Test("Truncations and mutations of a real quote are typed rejections, never a crash")
    func mutations() throws {
        let name = try #require(Self.samples().first)
        let (_, asOf) = try Self.manifest(name)
        let verifier = try Self.verifier()
        let bytes = try Data(contentsOf: Self.dir.appendingPathComponent("\(name)/quote.bin"))
        for cut in stride(from: 0, to: bytes.count, by: 211) {
            if case .verified = verifier.verifyQuote(bytes.prefix(cut), at: asOf) { Issue.record("truncation to \(cut) accepted") }
        }
        for _ in 0..<300 {
            var mutated = bytes
            let i = Int.random(in: 0..<632)
            mutated[i] ^= UInt8.random(in: 1...255)
            if case .verified = verifier.verifyQuote(mutated, at: asOf) { Issue.record("a flip at \(i) of the signed region was accepted") }
        }
    }
}
