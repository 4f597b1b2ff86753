import Foundation
import ModelLoader
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Decryption in place (the ciphertext read straight into the file's memfd mapping or memory and opened there): what
/// the loader hands over owns its memory, memfds come out sealed and unmappable for writing, and many-chunk files
/// come out byte for byte.
@Suite("Sealed models: decryption in place into memfd mappings and memory")
struct ModelLoaderInPlaceTests {
    /// `F_GET_SEALS` and the four seals (linux/fcntl.h; Glibc's Swift module does not export them).
    static let getSeals: Int32 = 1024 + 10
    static let allSeals: Int32 = 0x1 | 0x2 | 0x4 | 0x8

    @Test("Bytes loaded into memory stay valid after the ProtectedModel is gone (the Data owns the mapping)")
    func memoryOutlivesModel() async throws {
        try await withFixture { f in
            let loader = ModelLoader(trust: try f.trust(), keys: f.keys)
            let sealed = try await f.sealed("a")
            var kept: [String: Data] = [:]
            do {
                let model = try await loader.load(sealed).get()
                for (name, _) in ModelFixture.files { kept[name] = try model.bytes(of: name) }
            }
            // A second load maps new memory; the first model's bytes must not have been unmapped or reused.
            let again = try await loader.load(sealed).get()
            for (name, data) in ModelFixture.files {
                #expect(kept[name] == data, "\(name) after its model was released")
                #expect(try again.bytes(of: name) == data)
            }
        }
    }

    @Test("A handed-over memfd has the file's size and every seal: no write, no writable shared mapping, no resize")
    func memoryFilesSealed() async throws {
        try await withFixture { f in
            let model = try await ModelLoader(trust: try f.trust(), keys: f.keys).load(try await f.sealed("a"), into: .memoryFile).get()
            for (name, data) in ModelFixture.files {
                let fd = open(try model.path(of: name), O_RDWR)
                #expect(fd >= 0, "\(name) opens")
                defer { close(fd) }
                #expect(fcntl(fd, Self.getSeals) == Self.allSeals, "\(name): seals")
                var info = stat()
                #expect(fstat(fd, &info) == 0 && Int(info.st_size) == data.count, "\(name): size")
                guard !data.isEmpty else { continue }
                let writable = mmap(nil, data.count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                #expect(writable == MAP_FAILED && errno == EPERM, "\(name): no writable shared mapping")
                let readable = mmap(nil, data.count, PROT_READ, MAP_SHARED, fd, 0)
                #expect(readable != MAP_FAILED, "\(name): read-only mapping, as a model server makes")
                if let readable, readable != MAP_FAILED {
                    #expect(Data(bytes: readable, count: data.count) == data)
                    munmap(readable, data.count)
                }
            }
        }
    }

    @Test("A file of hundreds of chunks between two others loads byte for byte into memory and into memfds")
    func manyChunks() async throws {
        try await withFixture { f in
            var generator = SystemRandomNumberGenerator()
            let big = Data((0..<(300 * 4096 + 5)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let files = [("a.txt", Data("first".utf8)), ("big.bin", big), ("z.txt", Data("last".utf8))]
            let sealed = try await f.sealed("many", model: "many", files: files)
            let loader = ModelLoader(trust: try f.trust(), keys: f.keys)
            let inMemory = try await loader.load(sealed).get()
            let inFiles = try await loader.load(sealed, into: .memoryFile).get()
            for (name, data) in files {
                #expect(try inMemory.bytes(of: name) == data, "\(name) in memory")
                #expect(try inFiles.bytes(of: name) == data, "\(name) in its memfd")
            }
        }
    }
}
