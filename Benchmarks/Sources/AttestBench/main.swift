// Verifications per second for each evidence type (one core), full and with the certificate chain cached.
// Usage: AttestBench <shared-vectors-dir> [seconds]
import Attestation
import AttestationNitro
import AttestationSEVSNP
import AttestationTDX
import Crypto
import Foundation

let vectors = CommandLine.arguments.dropFirst().first ?? "../../shared/vectors"
let seconds = Double(CommandLine.arguments.dropFirst(2).first ?? "2") ?? 2

func rate(_ label: String, _ body: () -> Bool) {
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start.advanced(by: .milliseconds(Int(seconds * 1000)))
    var n = 0
    while clock.now < deadline {
        precondition(body(), "\(label) failed")
        n += 1
    }
    let d = start.duration(to: clock.now)
    let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    print("\(label),\(Int(Double(n) / s))")
}

func data(_ path: String) -> Data { FileManager.default.contents(atPath: vectors + "/" + path) ?? Data() }
func text(_ path: String) -> String { String(decoding: data(path), as: UTF8.self) }
let iso = ISO8601DateFormatter()

print("evidence,verifications_per_s")
// SEV-SNP (Milan, VCEK): full (3 RSA-4096 PSS + 1 P-384) and chain cached (1 P-384).
let snpReport = data("sev-snp/milan-v2-virtee/report.bin")
let vcek = try AMDCertificate(der: data("sev-snp/milan-v2-virtee/vcek.der"))
let chain = try AMDCertificate.pem(text("sev-snp/roots/cert_chain-milan.pem"))
let snpAt = iso.date(from: "2023-06-01T00:00:00Z") ?? Date()
let snp = SNPAttestationVerifier()
rate("snp_full") { if case .verified = snp.verify(report: snpReport, vcek: vcek, chain: chain, at: snpAt) { return true } else { return false } }
var snpCached = SNPAttestationVerifier()
snpCached.chainCache = VerifiedChainCache()
rate("snp_chain_cached") { if case .verified = snpCached.verify(report: snpReport, vcek: vcek, chain: chain, at: snpAt) { return true } else { return false } }
// TDX v4: quote and QE report signatures, binding, PCK chain (2 more P-256).
let quote = data("tdx/v4-phala/quote.bin")
let tdxAt = iso.date(from: "2025-06-20T00:00:00Z") ?? Date()
let tdx = TDXAttestationVerifier()
rate("tdx_full") { if case .verified = tdx.verifyQuote(quote, at: tdxAt) { return true } else { return false } }
var tdxCached = TDXAttestationVerifier()
tdxCached.chainCache = VerifiedChainCache()
rate("tdx_chain_cached") { if case .verified = tdxCached.verifyQuote(quote, at: tdxAt) { return true } else { return false } }
// Nitro: COSE ES384 and a 4-certificate P-384 chain.
let doc = data("nitro/prod-2024-07-31-eternis/attestation.cbor")
let nitro = NitroAttestationVerifier()
rate("nitro_full") { if case .verified = nitro.verifyDocument(doc) { return true } else { return false } }

// The library floor: swift-crypto ECDSA verification alone (SHA-256/384 of a 632-byte message, raw r||s).
let message = Data(repeating: 0x5a, count: 632)
let p256 = P256.Signing.PrivateKey()
let p256Signature = try p256.signature(for: message)
rate("swift_crypto_p256_verify") { p256.publicKey.isValidSignature(p256Signature, for: message) }
let p384 = P384.Signing.PrivateKey()
let p384Signature = try p384.signature(for: message)
rate("swift_crypto_p384_verify") { p384.publicKey.isValidSignature(p384Signature, for: message) }
