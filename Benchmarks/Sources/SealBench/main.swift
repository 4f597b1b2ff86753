// Chunk decryption throughput on one core.
// - cipher: DEKCipher.open — what the gateway runs for every chunk text and embedding of a document after the
//   first (one AES-GCM context per DEK, canonical AAD built per call, format check, output allocation).
// - cold: Envelope.open — a fresh AES-GCM setup per call (the first value of each document pays this).
// - raw: swift-crypto AES.GCM.open on a prebuilt box and AAD (the library's one-shot floor).
// Usage: SealBench [seconds-per-size]   Prints: size bytes, MB/s (1 MB = 1,000,000 bytes, as openssl speed).
import Crypto
import Foundation
import SealgateCore
import Sealing

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "2") ?? 2
let key = SymmetricKey(size: .bits256)
let context = SealingContext(
    tenant: TenantID(unchecked: "acme"), collection: CollectionName(unchecked: "bench"),
    documentID: DocumentID(unchecked: "doc-000123"), chunkIndex: 7, dataClass: DataClass(unchecked: "confidential"),
    kekVersion: 1, field: .text)

/// Runs `op` for `seconds`, 64 calls at a time; MB/s for `bytes` per call and calls per second. `op` returns a byte
/// of its output so the work cannot be optimised away.
func measure(bytes: Int, _ op: () -> UInt8?) -> (mbps: Double, opsPerSecond: Double) {
    var ops = 0
    var checksum = 0
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start.advanced(by: .milliseconds(Int(seconds * 1000)))
    while clock.now < deadline {
        for _ in 0..<64 {
            guard let byte = op() else { fatalError("operation failed") }
            checksum &+= Int(byte)
        }
        ops += 64
    }
    let elapsed = start.duration(to: clock.now)
    let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    if checksum == -1 { print("") }
    return (Double(ops * bytes) / secs / 1_000_000, Double(ops) / secs)
}
let f = { (value: Double) in String(format: "%.1f", value) }

// Which DEKCipher was compiled: the reused BoringSSL context, or the portable fallback (SEALGATE_PORTABLE_CRYPTO).
print("dek_cipher_reuses_context=\(DEKCipher.reusesContext)")
print("size_bytes,cipher_MBps,ops_per_s,cold_MBps,raw_swift_crypto_MBps")
for size in [800, 1024, 4096, 8192, 16384] {
    let plaintext = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    let aad = context.canonicalAAD
    guard let sealed = try? Envelope.seal(plaintext, key: key, context: context), let cipher = try? DEKCipher(dek: key),
        let box = try? AES.GCM.seal(plaintext, using: key, authenticating: aad)
    else { fatalError("seal failed") }
    let warm = measure(bytes: size) { (try? cipher.open(sealed, context: context))?.first }
    let cold = measure(bytes: size) { (try? Envelope.open(sealed, key: key, context: context))?.first }
    // The library's one-shot API: AES.GCM.open on a prebuilt box and AAD, no Sealgate framing.
    let raw = measure(bytes: size) { (try? AES.GCM.open(box, using: key, authenticating: aad))?.first }
    print("\(size),\(f(warm.mbps)),\(Int(warm.opsPerSecond)),\(f(cold.mbps)),\(f(raw.mbps))")
}

// The hashing floor for audit verification: swift-crypto SHA-256 one-shot over typical leaf sizes.
print("sha256_size_bytes,swift_crypto_MBps")
for size in [154, 1024] {
    let input = Data((0..<size).map { UInt8(truncatingIfNeeded: $0) })
    print("\(size),\(f(measure(bytes: size) { SHA256.hash(data: input).withUnsafeBytes { $0.first } }.mbps))")
}
