import Attestation
import AttestationSEVSNP
import AttestationTDX
import Crypto
import Foundation
import SealgateCore
import Synchronization
import Testing

@testable import KeyLease

/// `shared/vectors`: `../shared/vectors` beside the package, or the nearest one above it (a git worktree nests the
/// package deeper than the main checkout).
enum TSMVectors {
    static let root: URL? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent("shared/vectors")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return nil
    }()
    static var present: Bool { root != nil }
    static let absent = "shared/vectors is absent: the configfs-tsm tests replay real SNP and TDX evidence from it"

    /// A sample's manifest, `as_of` time and folder.
    static func sample(_ path: String) throws -> (manifest: [String: Any], asOf: Date, folder: URL) {
        let folder = try #require(root).appendingPathComponent(path)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("manifest.json"))) as? [String: Any])
        let asOfText = try #require(manifest["as_of"] as? String)
        let asOf = try #require(ISO8601DateFormatter().date(from: asOfText))
        return (manifest, asOf, folder)
    }
}

/// A plain directory standing in for configfs: `create` does what the kernel does on `mkdir` (the entry's attribute
/// files, with a recorded `outblob`), `remove` records what was written to `inblob` and deletes the entry.
final class FakeConfigfs: Sendable {
    let root: URL
    let attributes: [String: Data]
    let written = Mutex<[Data]>([])
    let created = Mutex<[String]>([])

    init(provider: String, outblob: Data?, auxblob: Data? = nil) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tsm-\(UUID().uuidString)/report")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var attributes = ["provider": Data("\(provider)\n".utf8), "generation": Data("0\n".utf8), "inblob": Data()]
        attributes["outblob"] = outblob
        attributes["auxblob"] = auxblob
        self.attributes = attributes
    }

    var lifecycle: ConfigfsTSMAttester.EntryLifecycle {
        ConfigfsTSMAttester.EntryLifecycle(
            create: { path in
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                for (name, data) in self.attributes { try data.write(to: URL(fileURLWithPath: path).appendingPathComponent(name)) }
                self.created.withLock { $0.append(path) }
            },
            remove: { path in
                let inblob = (try? Data(contentsOf: URL(fileURLWithPath: path).appendingPathComponent("inblob"))) ?? Data()
                self.written.withLock { $0.append(inblob) }
                try FileManager.default.removeItem(atPath: path)
            })
    }

    var entriesLeft: [String] { (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? ["?"] }

    func delete() { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
}

@Suite("configfs-tsm attester over recorded SNP and TDX evidence", .enabled(if: TSMVectors.present, Comment(rawValue: TSMVectors.absent)))
struct ConfigfsTSMAttesterTests {
    /// Our runtime-data binding: not the one the recorded report carries.
    static let reportData = Data(SHA512.hash(data: Data("sealgate nonce".utf8)))

    static func pem(_ der: Data) -> String {
        let b64 = Array(der.base64EncodedString())
        let lines = stride(from: 0, to: b64.count, by: 64).map { String(b64[$0..<min($0 + 64, b64.count)]) }
        return "-----BEGIN CERTIFICATE-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE-----\n"
    }

    struct SNPSample {
        let report: Data
        let vcekDER: Data
        let chainPEM: String
        let measurement: String
        let recordedReportData: String
        let asOf: Date
    }

    static func snpSample() throws -> SNPSample {
        let (manifest, asOf, folder) = try TSMVectors.sample("sev-snp/milan-v2-go-sev-guest")
        let files = try #require(manifest["files"] as? [String: String])
        let expected = try #require(manifest["expected"] as? [String: Any])
        let (report, vcek, chain) = (try #require(files["report"]), try #require(files["vcek"]), try #require(files["cert_chain"]))
        let measurement = try #require(expected["measurement"] as? String)
        let recorded = try #require(expected["report_data"] as? String)
        return SNPSample(
            report: try Data(contentsOf: folder.appendingPathComponent(report)),
            vcekDER: try Data(contentsOf: folder.appendingPathComponent(vcek)),
            chainPEM: try String(contentsOf: folder.appendingPathComponent(chain), encoding: .utf8),
            measurement: measurement, recordedReportData: recorded, asOf: asOf)
    }

    /// Verifies SNP evidence and appraises it against our binding.
    static func checkSNP(_ evidence: Evidence, _ s: SNPSample) throws {
        #expect(evidence.tee == .snp)
        guard case .verified(let claims) = SNPAttestationVerifier().verify(evidence, now: s.asOf) else {
            Issue.record("SNP evidence rejected: \(SNPAttestationVerifier().verify(evidence, now: s.asOf))")
            return
        }
        #expect(Hex.encode(claims.reportData) == s.recordedReportData)
        // The go-sev-guest recording comes from a guest whose policy allows debugging (policy 0xB0000, bit 19);
        // the set tolerates that so the only failure left is the binding.
        let set = ReferenceValueSet(id: "go-sev-guest", tee: .snp, measurements: [s.measurement], insecureAllowDebug: true)
        let values = ReferenceValues(sets: [set], acceptMockEvidence: false)
        let result = Appraiser(referenceValues: values, verifiers: [SNPAttestationVerifier()])
            .appraise(evidence, reportData: .equals(Self.reportData), now: s.asOf)
        #expect(result.status == .contraindicated)
        #expect(result.failures.map(\.reason) == [.reportDataMismatch])
        #expect(result.referenceValueSet == "go-sev-guest")
    }

    @Test("SNP without auxblob: inblob gets our 64 bytes, the bundle carries the configured certificates, verifies, and fails our binding")
    func snpConfiguredCertificates() throws {
        let s = try Self.snpSample()
        let fs = try FakeConfigfs(provider: "sev_guest", outblob: s.report)
        defer { fs.delete() }
        let attester = try ConfigfsTSMAttester(
            root: fs.root.path, certificates: .init(vcekPEM: Self.pem(s.vcekDER), certChainPEM: s.chainPEM), entries: fs.lifecycle)
        #expect(attester.tee == .snp)  // read from the provider of a probe entry
        let evidence = try attester.evidence(reportData: Self.reportData, now: Date())
        #expect(fs.written.withLock { $0 } == [Data(), Self.reportData])  // the probe, then our write
        let names = fs.created.withLock { $0 }.map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(names.count == 2 && Set(names).count == 2 && names.allSatisfy { $0.hasPrefix("sealgate-") })
        #expect(fs.entriesLeft.isEmpty)
        let bundle = try JSONDecoder().decode(SNPEvidenceBundle.self, from: evidence.bytes)
        #expect(Data(base64Encoded: bundle.report) == s.report)
        try Self.checkSNP(evidence, s)
    }

    @Test("SNP with auxblob: the certificate table supplies VCEK, ASK and ARK")
    func snpAuxblob() throws {
        let s = try Self.snpSample()
        let chain = s.chainPEM.components(separatedBy: "-----END CERTIFICATE-----").compactMap { block -> Data? in
            let body = block.components(separatedBy: "-----BEGIN CERTIFICATE-----").last?.filter { !$0.isWhitespace } ?? ""
            return body.isEmpty ? nil : Data(base64Encoded: body)
        }
        #expect(chain.count == 2)
        let table = SNPCertificateTable.encode([(.vcek, s.vcekDER), (.ask, chain[0]), (.ark, chain[1])])
        #expect(SNPCertificateTable(table).entries == [.vcek: s.vcekDER, .ask: chain[0], .ark: chain[1]])
        let fs = try FakeConfigfs(provider: "sev_guest", outblob: s.report, auxblob: table)
        defer { fs.delete() }
        let attester = try ConfigfsTSMAttester(root: fs.root.path, tee: .snp, entries: fs.lifecycle)
        let evidence = try attester.evidence(reportData: Self.reportData, now: Date())
        #expect(fs.written.withLock { $0 } == [Self.reportData])
        #expect(fs.entriesLeft.isEmpty)
        try Self.checkSNP(evidence, s)
    }

    @Test("TDX: the outblob is the quote; it verifies and fails our binding")
    func tdx() throws {
        let (manifest, asOf, folder) = try TSMVectors.sample("tdx/v4-phala")
        let expected = try #require(manifest["expected"] as? [String: Any])
        let quote = try Data(contentsOf: folder.appendingPathComponent("quote.bin"))
        let fs = try FakeConfigfs(provider: "tdx_guest", outblob: quote)
        defer { fs.delete() }
        let attester = try ConfigfsTSMAttester(root: fs.root.path, entries: fs.lifecycle)
        #expect(attester.tee == .tdx)
        let evidence = try attester.evidence(reportData: Self.reportData, now: Date())
        #expect(evidence == Evidence(tee: .tdx, bytes: quote))
        #expect(fs.written.withLock { $0 }.last == Self.reportData)
        #expect(fs.entriesLeft.isEmpty)
        guard case .verified(let claims) = TDXAttestationVerifier().verify(evidence, now: asOf) else {
            Issue.record("TDX evidence rejected")
            return
        }
        #expect(Hex.encode(claims.reportData) == expected["report_data"] as? String)
        // No collateral here: only the binding is under test, so the unrated TCB is let through explicitly.
        let values = ReferenceValues(
            sets: [ReferenceValueSet(id: "phala", tee: .tdx, measurements: [claims.measurement], insecureSkipTCBStatus: true)], acceptMockEvidence: false)
        let result = Appraiser(referenceValues: values, verifiers: [TDXAttestationVerifier()]).appraise(evidence, reportData: .equals(Self.reportData), now: asOf)
        #expect(result.failures.map(\.reason) == [.reportDataMismatch])
    }
}

@Suite("configfs-tsm attester failures")
struct ConfigfsTSMAttesterFailureTests {
    static let reportData = Data(repeating: 0xA5, count: 64)

    static func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as SealgateError {
            #expect(error.code == .attestationFailed)
            // 16 bytes of the report data in hex or base64 would be a leak; a random path may contain a short "a5a5".
            #expect(!error.message.lowercased().contains(String(repeating: "a5", count: 16)))
            #expect(!error.message.contains(Data(repeating: 0xA5, count: 12).base64EncodedString()))
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test("Errors name the file, never the report data, and the entry is removed on every path")
    func failures() throws {
        let snp = try FakeConfigfs(provider: "sev_guest", outblob: Data(repeating: 1, count: 1184))
        defer { snp.delete() }
        let noCerts = Self.message { _ = try ConfigfsTSMAttester(root: snp.root.path, tee: .snp, entries: snp.lifecycle).evidence(reportData: Self.reportData, now: Date()) }
        #expect(noCerts?.contains("/auxblob carries no VCEK/VLEK") == true, "\(noCerts ?? "")")
        let wrongTEE = Self.message { _ = try ConfigfsTSMAttester(root: snp.root.path, tee: .tdx, entries: snp.lifecycle).evidence(reportData: Self.reportData, now: Date()) }
        #expect(wrongTEE?.contains("/provider is snp, not tdx") == true, "\(wrongTEE ?? "")")
        let short = Self.message { _ = try ConfigfsTSMAttester(root: snp.root.path, tee: .snp, entries: snp.lifecycle).evidence(reportData: Data(count: 32), now: Date()) }
        #expect(short == "configfs-tsm: report data must be 64 bytes, not 32")
        #expect(snp.entriesLeft.isEmpty)

        let empty = try FakeConfigfs(provider: "tdx_guest", outblob: nil)
        defer { empty.delete() }
        let noOutblob = Self.message { _ = try ConfigfsTSMAttester(root: empty.root.path, tee: .tdx, entries: empty.lifecycle).evidence(reportData: Self.reportData, now: Date()) }
        #expect(noOutblob?.hasSuffix("/outblob is missing or empty") == true, "\(noOutblob ?? "")")
        #expect(empty.written.withLock { $0 } == [Self.reportData])
        #expect(empty.entriesLeft.isEmpty)

        let other = try FakeConfigfs(provider: "arm_cca_guest", outblob: Data([1]))
        defer { other.delete() }
        let unsupported = Self.message { _ = try ConfigfsTSMAttester(root: other.root.path, entries: other.lifecycle) }
        #expect(unsupported?.hasSuffix("/provider names an unsupported TSM") == true, "\(unsupported ?? "")")
        #expect(other.entriesLeft.isEmpty)
    }

    @Test("The default lifecycle makes and removes a real directory; without kernel attributes the provider is missing")
    func plainDirectory() throws {
        let fs = try FakeConfigfs(provider: "sev_guest", outblob: nil)
        defer { fs.delete() }
        let missing = Self.message { _ = try ConfigfsTSMAttester(root: fs.root.path) }
        #expect(missing?.hasSuffix("/provider is missing") == true, "\(missing ?? "")")
        #expect(fs.entriesLeft.isEmpty)
        let noRoot = Self.message { _ = try ConfigfsTSMAttester(root: fs.root.path + "/absent") }
        #expect(noRoot?.contains("cannot create report entry") == true, "\(noRoot ?? "")")
    }

    @Test("generation may move by our one write at most; more means a concurrent writer")
    func generation() throws {
        try ConfigfsTSMAttester.checkGeneration(before: 7, after: 8, entry: "e")
        try ConfigfsTSMAttester.checkGeneration(before: 7, after: 7, entry: "e")
        #expect(throws: SealgateError.self) { try ConfigfsTSMAttester.checkGeneration(before: 7, after: 9, entry: "e") }
        #expect(throws: SealgateError.self) { try ConfigfsTSMAttester.checkGeneration(before: 7, after: 6, entry: "e") }
    }

    @Test("A malformed certificate table yields no certificates instead of a crash")
    func malformedTable() {
        let vcek = Data(repeating: 7, count: 40)
        var table = SNPCertificateTable.encode([(.vcek, vcek)])
        #expect(SNPCertificateTable(table).entries == [.vcek: vcek])
        table[20] = 0xFF  // length far past the end
        #expect(SNPCertificateTable(table).entries.isEmpty)
        #expect(SNPCertificateTable(Data(repeating: 0xAB, count: 23)).entries.isEmpty)
        #expect(SNPCertificateTable(Data()).entries.isEmpty)
    }
}
