// Sigstore verifications per second on the shared vectors' real bundles, the raw signature verifications they are
// made of, and model-directory hashing throughput.
//
//   SigstoreBench VECTORS_DIR SECONDS HASH_DIR [ONLY]
//
// Prints CSV lines `name,value`: verifications per second of a keyed OMS signature, a certificate bundle on Rekor v1
// (SET, inclusion proof, checkpoint, chain, SCT) and one on Rekor v2 with an RFC 3161 timestamp; raw swift-crypto
// verifications per second (ECDSA P-256 and P-384 over a SHA-256/SHA-384 digest, Ed25519), the crypto floor the
// bundle figures are set against; then MB/s hashing every file under HASH_DIR with 1 and with all cores
// (ModelDirectory.hash, as `sealgate model verify` does). ONLY (comma-separated names, e.g. `cert_rekor1`) runs just
// those, for profiling.
import Crypto
import Foundation
import Sigstore

let arguments = CommandLine.arguments
guard arguments.count == 4 || arguments.count == 5, let seconds = Double(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: SigstoreBench VECTORS_DIR SECONDS HASH_DIR [ONLY]\n".utf8))
    exit(64)
}
let only = arguments.count == 5 ? Set(arguments[4].split(separator: ",").map(String.init)) : nil
func selected(_ name: String) -> Bool { only?.contains(name) ?? true }
let vectors = URL(fileURLWithPath: arguments[1]).appendingPathComponent("sigstore")
func load(_ path: String) -> Data {
    guard let data = try? Data(contentsOf: vectors.appendingPathComponent(path)) else {
        FileHandle.standardError.write(Data("missing \(path)\n".utf8))
        exit(1)
    }
    return data
}

/// CPU seconds this process has used (the verifications run on one thread).
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Runs `body` repeatedly for `seconds`; prints runs per wall-clock second as `<name>_<unit>` and per CPU second as
/// `<name>_<unit>_cpu` (less sensitive to other load on a shared machine). `body` must return true.
func rate(_ name: String, unit: String = "verify_per_s", _ body: () -> Bool) {
    guard selected(name) else { return }
    precondition(body(), "\(name) does not verify")
    let start = Date()
    let cpuStart = cpuSeconds()
    var runs = 0
    while Date().timeIntervalSince(start) < seconds {
        for _ in 0..<20 where body() { runs += 1 }
    }
    print("\(name)_\(unit),\(Int(Double(runs) / Date().timeIntervalSince(start)))")
    print("\(name)_\(unit)_cpu,\(Int(Double(runs) / (cpuSeconds() - cpuStart)))")
}

do {
    let staging = BundleVerifier(trustedRoot: try TrustedRoot(json: load("roots/trusted_root.staging.json")))
    let key = try SigstoreKey(pem: String(decoding: load("oms/key-ok/signer.pub.pem"), as: UTF8.self))
    let oms = load("oms/key-ok/model.sig")
    rate("keyed_oms") { (try? ModelSignatureVerifier(trust: .key(key)).manifest(bundleJSON: oms)) != nil }
    let v1 = (load("blob/bundle_v3.txt.sigstore"), load("blob/bundle_v3.txt"))
    let v1Policy = try IdentityPolicy(identity: .exact("william@yossarian.net"), issuer: .exact("https://github.com/login/oauth"))
    rate("cert_rekor1") { staging.verify(bundleJSON: v1.0, artifact: .bytes(v1.1), policy: .identity(v1Policy)).refusal == nil }
    let v2 = (load("blob/staging-rekor-v2.txt.sigstore.json"), load("blob/staging-rekor-v2.txt"))
    let v2Policy = try IdentityPolicy(identity: .exact("jku@goto.fi"), issuer: .exact("https://github.com/login/oauth"))
    rate("cert_rekor2_tsa") { staging.verify(bundleJSON: v2.0, artifact: .bytes(v2.1), policy: .identity(v2Policy)).refusal == nil }

    // The crypto floor: one raw verification of each kind the bundles above are made of (swift-crypto / BoringSSL).
    let message = Data("sigstore bench".utf8)
    let p256 = P256.Signing.PrivateKey()
    let p256Signature = try p256.signature(for: SHA256.hash(data: message))
    rate("p256_raw", unit: "verifies_per_s") { p256.publicKey.isValidSignature(p256Signature, for: SHA256.hash(data: message)) }
    let p384 = P384.Signing.PrivateKey()
    let p384Signature = try p384.signature(for: SHA384.hash(data: message))
    rate("p384_raw", unit: "verifies_per_s") { p384.publicKey.isValidSignature(p384Signature, for: SHA384.hash(data: message)) }
    let ed25519 = Curve25519.Signing.PrivateKey()
    let ed25519Signature = try ed25519.signature(for: message)
    rate("ed25519_raw", unit: "verifies_per_s") { ed25519.publicKey.isValidSignature(ed25519Signature, for: message) }

    guard selected("hash") else { exit(0) }
    let hashDir = URL(fileURLWithPath: arguments[3])
    let files = try ModelDirectory.files(in: hashDir, ignoring: []).sorted().map { hashDir.appendingPathComponent($0) }
    let bytes = files.compactMap { try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int }.reduce(0, +)
    for lanes in [1, ProcessInfo.processInfo.activeProcessorCount] {
        let start = Date()
        _ = try ModelDirectory.hash(files, parallelism: lanes)
        print("hash_\(lanes)_lanes_MB_per_s,\(Int(Double(bytes) / 1e6 / Date().timeIntervalSince(start)))")
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
