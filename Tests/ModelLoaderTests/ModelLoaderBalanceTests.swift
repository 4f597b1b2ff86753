import Foundation
import ModelLoader
import Testing

/// The balanced two-core load (`ChunkPipeline`): both threads read and open chunks, in whatever order they claim
/// them, while one hashes every file in order. Whichever thread gets a chunk, the model comes out byte for byte, every
/// chunk is counted once, and a bad chunk anywhere is refused with nothing handed over.
@Suite("Sealed models: chunks opened on both cores, hashed in order on one")
struct ModelLoaderBalanceTests {
    static let chunk = 4096

    /// Many files, empty ones and one-chunk ones between long ones, so file boundaries fall between chunks either
    /// thread may claim.
    static func files(_ tag: String) -> [(String, Data)] {
        (0..<24).map { index in
            let size = [0, 1, chunk, 3 * chunk + 7, 17 * chunk, 40 * chunk + 4095][index % 6]
            return ("\(tag)/f\(index).bin", ModelLoaderPipelineTests.random(size))
        }
    }

    /// Runs `body` with ``files(_:)`` under a fresh tag, sealed as `acme/model/<model>`, and a loader for them.
    static func withModel(_ model: String, _ body: (_ tag: String, _ files: [(String, Data)], _ sealed: URL, ModelLoader) async throws -> Void)
        async throws
    {
        try await withFixture { f in
            let tag = "\(model)-\(UUID().uuidString)"
            let files = Self.files(tag)
            let sealed = try await f.sealed(model, model: model, files: files, chunkSize: Self.chunk)
            try await body(tag, files, sealed, ModelLoader(trust: try f.trust(), keys: f.keys))
        }
    }

    @Test("Two dozen files of 0 to 41 chunks load byte for byte, five times each way; the statistics count every chunk once")
    func manyFilesBothCores() async throws {
        try await Self.withModel("balance") { tag, files, sealed, loader in
            let chunks = files.reduce(Int64(0)) { $0 + SealedModelFormat.chunkCount(size: Int64($1.1.count), chunkSize: Self.chunk) }
            for round in 0..<5 {
                for destination in [ModelDestination.memoryFile, .memory] {
                    let model = try await loader.load(sealed, into: destination).get()
                    #expect(model.statistics.chunks == chunks, "round \(round), \(destination)")
                    #expect((0...chunks).contains(model.statistics.openedBySecondCore))
                    for (name, data) in files { #expect(try model.bytes(of: name) == data, "\(name), round \(round), \(destination)") }
                }
            }
            #expect(try ModelLoaderPipelineTests.openMemoryFiles(tag).isEmpty, "every model released, every memfd closed")
        }
    }

    @Test("A changed chunk at the start, middle or end of a 41-chunk file is refused whichever thread opens it; the model loads once restored")
    func badChunkAnywhere() async throws {
        try await Self.withModel("balance-bad") { tag, files, sealed, loader in
            let long = 5  // f5.bin: 41 chunks
            let blob = sealed.appendingPathComponent(SealedModelFormat.blobName(long))
            let original = try Data(contentsOf: blob)
            for chunk in [0, 1, 20, 39, 40] {
                var changed = original
                changed[chunk * (Self.chunk + 28) + 12 + 100] ^= 0x80
                try changed.write(to: blob)
                for destination in [ModelDestination.memoryFile, .memory] {
                    let result = await loader.load(sealed, into: destination)
                    #expect(refusal(result) == .chunkInvalid, "chunk \(chunk) changed, \(destination)")
                    if case .failure(let error) = result { #expect(error.message.contains("chunk \(chunk) of"), "\(error.message)") }
                }
                #expect(try ModelLoaderPipelineTests.openMemoryFiles(tag).isEmpty, "no memfd of a refused load stays open")
            }
            // Truncated by one byte: refused before any chunk is read, whatever the other files.
            try original.dropLast().write(to: blob)
            #expect(refusal(await loader.load(sealed, into: .memoryFile)) == .truncated)
            try original.write(to: blob)
            let model = try await loader.load(sealed, into: .memoryFile).get()
            #expect(try model.bytes(of: files[long].0) == files[long].1)
        }
    }
}
