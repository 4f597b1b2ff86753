// Sigstore verifications per second on the shared vectors' real bundles, and model-directory hashing throughput.
//
//   SigstoreBench VECTORS_DIR SECONDS HASH_DIR
//
// Prints CSV lines `name,value`: verifications per second of a keyed OMS signature, a certificate bundle on Rekor v1
// (SET, inclusion proof, checkpoint, chain, SCT) and one on Rekor v2 with an RFC 3161 timestamp; then MB/s hashing
// every file under HASH_DIR with 1 and with all cores (ModelDirectory.hash, as `sealgate model verify` does).
import Foundation
import Sigstore

let arguments = CommandLine.arguments
guard arguments.count == 4, let seconds = Double(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: SigstoreBench VECTORS_DIR SECONDS HASH_DIR\n".utf8))
    exit(64)
}
let vectors = URL(fileURLWithPath: arguments[1]).appendingPathComponent("sigstore")
func load(_ path: String) -> Data {
    guard let data = try? Data(contentsOf: vectors.appendingPathComponent(path)) else {
        FileHandle.standardError.write(Data("missing \(path)\n".utf8))
        exit(1)
    }
    return data
}

/// Runs `body` repeatedly for `seconds`; returns runs per second. `body` must return true (verified).
func rate(_ name: String, _ body: () -> Bool) {
    precondition(body(), "\(name) does not verify")
    let start = Date()
    var runs = 0
    while Date().timeIntervalSince(start) < seconds {
        for _ in 0..<20 where body() { runs += 1 }
    }
    print("\(name)_verify_per_s,\(Int(Double(runs) / Date().timeIntervalSince(start)))")
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
