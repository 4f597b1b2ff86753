import Crypto
import Foundation
import KBSProtocol
import ModelLoader
import Sigstore
import Testing

/// The two-core decryption pipeline (`ChunkPipeline`): chunk counts it must get right at its edges (odd, one), and
/// refusals that only show at the end of a file, after earlier chunks and files have already been written.
@Suite("Sealed models: the decryption pipeline at odd and single chunk counts, and refusals in the last chunk")
struct ModelLoaderPipelineTests {
    static let chunk = 4096

    /// Random bytes.
    static func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Files under a directory named for this test only, so the memfds of this load can be told from the ones
    /// other tests running in parallel hold: odd chunk counts (7 and 3), one full chunk, one short chunk.
    static func files(_ tag: String) -> [(String, Data)] {
        [
            ("\(tag)/odd.bin", random(6 * chunk + 1234)), ("\(tag)/one.bin", random(chunk)), ("\(tag)/short.txt", Data("short".utf8)),
            ("\(tag)/last.bin", random(2 * chunk + 17)),
        ]
    }

    /// The memfds of this process whose name contains `tag`.
    static func openMemoryFiles(_ tag: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { fd in
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
            return target.flatMap { $0.contains("memfd:") && $0.contains(tag) ? $0 : nil }
        }
    }

    /// Offsets of chunk `index` in a sealed file whose plaintext is `size` bytes.
    static func sealedRange(index: Int, size: Int) -> Range<Int> {
        let start = index * (chunk + 28)
        return start..<min(start + chunk + 28, size + (index + 1) * 28)
    }

    /// A model of ``files(_:)`` sealed under a tag of this test only, and a loader for it.
    struct Sealed {
        let tag: String
        let files: [(String, Data)]
        let directory: URL
        let loader: ModelLoader
    }

    /// Runs `body` with a fresh fixture and ``files(_:)`` sealed as `acme/model/<model>`.
    static func withSealedModel(_ model: String, _ body: (ModelFixture, Sealed) async throws -> Void) async throws {
        try await withFixture { f in
            let tag = "pipeline-\(UUID().uuidString)"
            let files = Self.files(tag)
            let sealed = try await f.sealed(model, model: model, files: files, chunkSize: Self.chunk)
            try await body(f, Sealed(tag: tag, files: files, directory: sealed, loader: ModelLoader(trust: try f.trust(), keys: f.keys)))
        }
    }

    @Test("Odd chunk counts, one full chunk and one short chunk load byte for byte, into memory and into memfds")
    func oddAndSingleChunkCounts() async throws {
        try await Self.withSealedModel("p1") { _, m in
            let (tag, files, sealed, loader) = (m.tag, m.files, m.directory, m.loader)
            #expect(files.map { SealedModelFormat.chunkCount(size: Int64($0.1.count), chunkSize: Self.chunk) } == [7, 1, 1, 3])
            let inMemory = try await loader.load(sealed).get()
            let inFiles = try await loader.load(sealed, into: .memoryFile).get()
            for (name, data) in files {
                #expect(try inMemory.bytes(of: name) == data, "\(name) in memory")
                #expect(FileManager.default.contents(atPath: try inFiles.path(of: name)) == data, "\(name) in its memfd")
            }
            #expect(try Self.openMemoryFiles(tag).count == files.count)
            withExtendedLifetime(inFiles) {}
        }
    }

    @Test("A changed byte or tag in the last chunk of the last file is refused: nothing handed over, every memfd closed")
    func corruptLastChunk() async throws {
        try await Self.withSealedModel("p2") { _, m in
            let (tag, files, sealed, loader) = (m.tag, m.files, m.directory, m.loader)
            let blob = sealed.appendingPathComponent(SealedModelFormat.blobName(files.count - 1))
            let original = try Data(contentsOf: blob)
            let size = files[files.count - 1].1.count
            let last = Self.sealedRange(index: 2, size: size)
            #expect(last.upperBound == original.count)
            for position in [last.lowerBound, last.lowerBound + 12, last.upperBound - 1] {
                var changed = original
                changed[position] ^= 0x01
                try changed.write(to: blob)
                for destination in [ModelDestination.memoryFile, .memory] {
                    let result = await loader.load(sealed, into: destination)
                    #expect(refusal(result) == .chunkInvalid, "byte \(position) (nonce, ciphertext, tag) changed, \(destination)")
                }
                #expect(try Self.openMemoryFiles(tag).isEmpty, "no memfd of a refused load stays open")
            }
            // Two full chunks of the first file swapped (same sizes): refused too; then the restored model loads.
            let odd = sealed.appendingPathComponent(SealedModelFormat.blobName(0))
            let oddOriginal = try Data(contentsOf: odd)
            var swapped = oddOriginal
            let fifth = Self.sealedRange(index: 4, size: files[0].1.count)
            let sixth = Self.sealedRange(index: 5, size: files[0].1.count)
            swapped.replaceSubrange(fifth, with: oddOriginal[sixth])
            swapped.replaceSubrange(sixth, with: oddOriginal[fifth])
            try swapped.write(to: odd)
            try original.write(to: blob)
            #expect(refusal(await loader.load(sealed, into: .memoryFile)) == .chunkInvalid)
            #expect(try Self.openMemoryFiles(tag).isEmpty)
            try oddOriginal.write(to: odd)
            let model = try await loader.load(sealed, into: .memoryFile).get()
            #expect(try model.bytes(of: files[files.count - 1].0) == files[files.count - 1].1)
        }
    }

    @Test("A multi-chunk file whose last byte differs from the signed one: model_digest_mismatch after decryption, memfds closed")
    func digestMismatchInLastChunk() async throws {
        try await Self.withSealedModel("p3") { f, m in
            let (tag, files, sealed, loader) = (m.tag, m.files, m.directory, m.loader)
            // Re-sign a model whose odd.bin differs in its last byte, and point the sealed manifest at it: every chunk
            // still opens, only the digest after the seventh chunk tells.
            var resignedFiles = files
            resignedFiles[0].1[resignedFiles[0].1.count - 1] ^= 0x01
            let bundle = try ModelFixture.bundle(resignedFiles, key: f.signer)
            try bundle.write(to: sealed.appendingPathComponent("model.sig"))
            let resources = try ModelSignatureVerifier(trust: try f.trust()).manifest(bundleJSON: bundle)
            let newHex = ModelFixture.hex(Data(SHA256.hash(data: resignedFiles[0].1)))
            try rewriteManifest(sealed) { m in
                m.with(
                    modelDigest: SealedModelFormat.modelDigest(resources),
                    files: m.files.map { $0.path == files[0].0 ? .init(path: $0.path, sha256: newHex, size: $0.size) : $0 })
            }
            #expect(refusal(await loader.load(sealed, into: .memoryFile)) == .digestMismatch)
            #expect(refusal(await loader.load(sealed)) == .digestMismatch)
            #expect(try Self.openMemoryFiles(tag).isEmpty)
        }
    }
}
