// Chunk decryption throughput on one core: Envelope.open (AES-256-GCM with the canonical AAD built per call),
// the exact operation the gateway runs for every retrieved chunk text and embedding.
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

print("size_bytes,open_MBps,ops_per_s,raw_swift_crypto_MBps")
for size in [800, 1024, 4096, 8192, 16384] {
    let plaintext = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    guard let sealed = try? Envelope.seal(plaintext, key: key, context: context) else { fatalError("seal failed") }
    var ops = 0
    var checksum = 0
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start.advanced(by: .milliseconds(Int(seconds * 1000)))
    while clock.now < deadline {
        for _ in 0..<64 {
            guard let opened = try? Envelope.open(sealed, key: key, context: context) else { fatalError("open failed") }
            checksum &+= Int(opened[opened.startIndex])
        }
        ops += 64
    }
    let elapsed = start.duration(to: clock.now)
    let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let mbps = Double(ops * size) / secs / 1_000_000
    // The library floor: AES.GCM.open on a prebuilt box and AAD, no Sealgate framing.
    let aad = context.canonicalAAD
    guard let box = try? AES.GCM.seal(plaintext, using: key, authenticating: aad) else { fatalError("seal failed") }
    var rawOps = 0
    let rawStart = clock.now
    let rawDeadline = rawStart.advanced(by: .milliseconds(Int(seconds * 1000)))
    while clock.now < rawDeadline {
        for _ in 0..<64 {
            guard let opened = try? AES.GCM.open(box, using: key, authenticating: aad) else { fatalError("open failed") }
            checksum &+= Int(opened[opened.startIndex])
        }
        rawOps += 64
    }
    let rawElapsed = rawStart.duration(to: clock.now)
    let rawSecs = Double(rawElapsed.components.seconds) + Double(rawElapsed.components.attoseconds) / 1e18
    let rawMBps = Double(rawOps * size) / rawSecs / 1_000_000
    print("\(size),\(String(format: "%.1f", mbps)),\(Int(Double(ops) / secs)),\(String(format: "%.1f", rawMBps))")
    if checksum == -1 { print("") }
}

// The hashing floor for audit verification: swift-crypto SHA-256 one-shot over typical leaf sizes.
print("sha256_size_bytes,swift_crypto_MBps")
for size in [154, 1024] {
    let input = Data((0..<size).map { UInt8(truncatingIfNeeded: $0) })
    var ops = 0
    var checksum = 0
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start.advanced(by: .milliseconds(Int(seconds * 1000)))
    while clock.now < deadline {
        for _ in 0..<256 {
            let digest = SHA256.hash(data: input)
            checksum &+= Int(digest.withUnsafeBytes { $0[0] })
        }
        ops += 256
    }
    let elapsed = start.duration(to: clock.now)
    let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("\(size),\(String(format: "%.1f", Double(ops * size) / secs / 1_000_000))")
    if checksum == -1 { print("") }
}
