import Attestation
@testable import AttestationTDX
import Foundation
import SealgateCore
import SwiftASN1
import Testing
import X509

@Suite("Intel TDX DCAP quotes (real samples)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct TDXTests {
    static let dir = SharedVectors.root.appendingPathComponent("tdx")

    static func samples() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/manifest.json").path) }.sorted()
    }

    /// The verifier with its built-in pin of the Intel SGX Root CA.
    static func verifier() throws -> TDXAttestationVerifier { TDXAttestationVerifier() }

    @Test("The built-in pin equals the published Intel SGX Root CA; another pin refuses every quote")
    func pins() throws {
        let name = try #require(Self.samples().first)
        let (_, asOf) = try Self.manifest(name)
        let quote = try Data(contentsOf: Self.dir.appendingPathComponent("\(name)/quote.bin"))
        let explicit = try TDXAttestationVerifier(rootPEM: try String(contentsOf: Self.dir.appendingPathComponent("roots/intel-sgx-root-ca.pem"), encoding: .utf8))
        if case .rejected(let f) = explicit.verifyQuote(quote, at: asOf) { Issue.record("explicit pin rejected: \(f)") }
        let aws = try TDXAttestationVerifier(rootPEM: try String(contentsOf: SharedVectors.root.appendingPathComponent("nitro/roots/aws-nitro-enclaves-root-g1.pem"), encoding: .utf8))
        guard case .rejected(let failures) = aws.verifyQuote(quote, at: asOf) else {
            Issue.record("a quote verified under the wrong root")
            return
        }
        #expect(failures.map(\.reason) == [.chainInvalid])
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
        for _ in 0..<2000 {
            var mutated = bytes
            let i = Int.random(in: 0..<632)
            mutated[i] ^= UInt8.random(in: 1...255)
            if case .verified = verifier.verifyQuote(mutated, at: asOf) { Issue.record("a flip at \(i) of the signed region was accepted") }
        }
    }
}

@Suite("TDX TCB Info collateral and TCB levels", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct TDXCollateralTests {
    @Test("TCB Info verifies over its exact bytes and yields the manifest's platform status", arguments: TDXTests.samples())
    func status(_ name: String) throws {
        let (expected, asOf) = try TDXTests.manifest(name)
        let folder = TDXTests.dir.appendingPathComponent(name)
        let verifier = try TDXTests.verifier()
        guard case .verified(let quote) = verifier.verifyQuote(try Data(contentsOf: folder.appendingPathComponent("quote.bin")), at: asOf) else {
            Issue.record("\(name) quote rejected")
            return
        }
        let tcbInfo = try Data(contentsOf: folder.appendingPathComponent("collateral/tcb_info.json"))
        let chain = try String(contentsOf: folder.appendingPathComponent("collateral/tcb_signing_chain.pem"), encoding: .utf8)
        let status = try verifier.tcbStatus(quote: quote, tcbInfoJSON: tcbInfo, signingChainPEM: chain, at: asOf)
        #expect(status.rawValue == expected["tcb_status"] as? String, "\(name)")

        // A changed byte inside the signed TCB Info fails its signature.
        var tampered = tcbInfo
        let at = try #require(tampered.range(of: Data("\"tcbStatus\":\"".utf8))).upperBound
        tampered[at] ^= 0x20
        #expect(throws: AttestationError.self) { try verifier.tcbStatus(quote: quote, tcbInfoJSON: tampered, signingChainPEM: chain, at: asOf) }
        // Stale collateral is refused.
        #expect(throws: AttestationError.self) {
            try verifier.tcbStatus(quote: quote, tcbInfoJSON: tcbInfo, signingChainPEM: chain, at: asOf.addingTimeInterval(400 * 86_400))
        }
    }
}

@Suite("TDX revocation (PCK CRL and Root CA CRL)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct TDXRevocationTests {
    static func withCRLs() -> [String] {
        TDXTests.samples().filter {
            FileManager.default.fileExists(atPath: TDXTests.dir.appendingPathComponent("\($0)/collateral/pck_crl.der").path)
        }
    }

    @Test("Intel's CRLs verify, are current at as_of and do not list the quote's chain", arguments: withCRLs())
    func currentCRLs(_ name: String) throws {
        let (_, asOf) = try TDXTests.manifest(name)
        let folder = TDXTests.dir.appendingPathComponent(name)
        let verifier = try TDXTests.verifier()
        guard case .verified(let quote) = verifier.verifyQuote(try Data(contentsOf: folder.appendingPathComponent("quote.bin")), at: asOf) else {
            Issue.record("\(name) rejected")
            return
        }
        let pck = try Data(contentsOf: folder.appendingPathComponent("collateral/pck_crl.der"))
        let root = try Data(contentsOf: folder.appendingPathComponent("collateral/root_ca_crl.der"))
        try verifier.checkRevocation(quote: quote, pckCRL: pck, rootCRL: root, at: asOf)
        // A flipped byte inside the signed CRL, a CRL from the wrong issuer, or a stale CRL are refused.
        var tampered = pck
        tampered[tampered.count / 2] ^= 0x01
        #expect(throws: AttestationError.self) { try verifier.checkRevocation(quote: quote, pckCRL: tampered, rootCRL: root, at: asOf) }
        #expect(throws: AttestationError.self) { try verifier.checkRevocation(quote: quote, pckCRL: root, rootCRL: root, at: asOf) }
        #expect(throws: AttestationError.self) { try verifier.checkRevocation(quote: quote, pckCRL: pck, rootCRL: root, at: asOf.addingTimeInterval(800 * 86_400)) }
    }

    @Test("A CRL listing the PCK certificate's serial revokes it")
    func revokedSerial() throws {
        let name = try #require(Self.withCRLs().first)
        let folder = TDXTests.dir.appendingPathComponent(name)
        let crl = try IntelCRL(der: try Data(contentsOf: folder.appendingPathComponent("collateral/pck_crl.der")))
        #expect(!crl.revokedSerials.isEmpty, "Intel's PCK CRL lists revoked serials")
        guard case .verified(let quote) = try TDXTests.verifier().verifyQuote(try Data(contentsOf: folder.appendingPathComponent("quote.bin")), at: try TDXTests.manifest(name).asOf) else {
            Issue.record("quote rejected")
            return
        }
        let leaf = try #require(try PEMDocument.parseMultiple(pemString: quote.pckChainPEM).map { try Certificate(pemDocument: $0) }.first)
        #expect(!crl.revokes(leaf))
        let serial = Data(Array(leaf.serialNumber.bytes).drop { $0 == 0 })
        #expect(IntelCRL(revoking: crl.revokedSerials.union([serial]), from: crl).revokes(leaf))
    }
}

@Suite("TDX QE Identity", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct TDXQEIdentityTests {
    static func withIdentity() -> [String] {
        TDXTests.samples().filter {
            FileManager.default.fileExists(atPath: TDXTests.dir.appendingPathComponent("\($0)/collateral/qe_identity.json").path)
        }
    }

    @Test("QE Identity verifies and yields the manifest's QE status; a tampered identity fails", arguments: withIdentity())
    func qeStatus(_ name: String) throws {
        let (expected, asOf) = try TDXTests.manifest(name)
        let folder = TDXTests.dir.appendingPathComponent(name)
        let verifier = try TDXTests.verifier()
        guard case .verified(let quote) = verifier.verifyQuote(try Data(contentsOf: folder.appendingPathComponent("quote.bin")), at: asOf) else {
            Issue.record("\(name) rejected")
            return
        }
        let identity = try Data(contentsOf: folder.appendingPathComponent("collateral/qe_identity.json"))
        let chain = try String(contentsOf: folder.appendingPathComponent("collateral/tcb_signing_chain.pem"), encoding: .utf8)
        let status = try verifier.qeStatus(quote: quote, qeIdentityJSON: identity, signingChainPEM: chain, at: asOf)
        #expect(status.rawValue == expected["qe_tcb_status"] as? String)
        var tampered = identity
        let at = try #require(tampered.range(of: Data("\"isvprodid\":".utf8))).upperBound
        tampered[at] ^= 0x01
        #expect(throws: AttestationError.self) { try verifier.qeStatus(quote: quote, qeIdentityJSON: tampered, signingChainPEM: chain, at: asOf) }
    }
}

@Suite("TDX chain cache", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct TDXCacheTests {
    @Test("A cached PCK chain skips only the chain: signatures, binding and validity are still checked")
    func cache() throws {
        let name = try #require(TDXTests.samples().first)
        let (_, asOf) = try TDXTests.manifest(name)
        let folder = TDXTests.dir.appendingPathComponent(name)
        var verifier = TDXAttestationVerifier()
        verifier.chainCache = VerifiedChainCache()
        let quote = try Data(contentsOf: folder.appendingPathComponent("quote.bin"))
        for _ in 0..<2 {
            if case .rejected(let f) = verifier.verifyQuote(quote, at: asOf) { Issue.record("\(f)") }
        }
        for file in ["quote-tampered-body.bin", "quote-tampered-qe-report.bin"] {
            guard case .rejected(let f) = verifier.verifyQuote(try Data(contentsOf: folder.appendingPathComponent(file)), at: asOf) else {
                Issue.record("\(file) passed with a cached chain")
                continue
            }
            #expect(f.map(\.reason) == [.signatureInvalid])
        }
        guard case .rejected(let later) = verifier.verifyQuote(quote, at: Date(timeIntervalSince1970: 3_000_000_000)) else {
            Issue.record("the cache outlived the chain")
            return
        }
        #expect(later.map(\.reason) == [.certificateExpired])
    }
}
