import Crypto
import Foundation
import KBSProtocol
import KeyBroker
import ModelLoader
import SealgateCore
import Sigstore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Sealed models: sealing, attested key release, decryption into memory or memfds, and every refusal")
struct ModelLoaderTests {
    static let m1 = ModelKeyResource("acme/model/m1")

    @Test("A sealed model loads into memory after an attested release: same bytes, the signed digest, a broker release event")
    func loadsIntoMemory() async throws {
        try await withFixture { f in
            let sealed = try await f.sealed("a")
            let model = try await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed, expected: Self.m1).get()
            for (name, data) in ModelFixture.files { #expect(try model.bytes(of: name) == data) }
            #expect(model.fileNames == ModelFixture.files.map(\.0))
            let manifest = try JSONDecoder().decode(SealedModelManifest.self, from: Data(contentsOf: sealed.appendingPathComponent("sealed-model.json")))
            #expect(model.digest == manifest.modelDigest && model.digest.hasPrefix("sha256:"))
            #expect(f.events.withLock { $0 }.contains("release acme/model/m1 granted"))
            #expect(model.isMemoryFile == false)
            #expect(throws: ModelLoadError.self) { try model.path(of: "weights.bin") }
        }
    }

    @Test("Into memfds: a child-readable /proc path with the plaintext, sealed against writes; nothing plaintext in the sealed directory")
    func loadsIntoMemoryFiles() async throws {
        try await withFixture { f in
            let sealed = try await f.sealed("a")
            let model = try await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed, into: .memoryFile).get()
            let path = try model.path(of: "weights.bin")
            #expect(path.hasPrefix("/proc/"))
            let weights = try #require(ModelFixture.files.first { $0.0 == "weights.bin" }?.1)
            #expect(FileManager.default.contents(atPath: path) == weights)
            #expect(try model.bytes(of: "tokenizer/vocab.txt") == Data("[PAD]\nhello\nworld\n".utf8))
            let writer = open(path, O_WRONLY)
            #expect(writer >= 0)
            #expect(write(writer, "x", 1) == -1 && errno == EPERM, "a sealed memfd cannot be written")
            #expect(ftruncate(writer, 1) == -1, "nor truncated")
            close(writer)
            #expect(FileManager.default.contents(atPath: path) == weights)
            let probe = weights.prefix(64)
            for name in try FileManager.default.subpathsOfDirectory(atPath: sealed.path) {
                let data = FileManager.default.contents(atPath: sealed.appendingPathComponent(name).path) ?? Data()
                #expect(data.range(of: probe) == nil, "\(name) holds plaintext")
            }
        }
    }

    @Test("Names outside the model are refused: a path escape, an absolute path, an unknown file")
    func pathEscapes() async throws {
        try await withFixture { f in
            let model = try await ModelLoader(trust: try f.trust(), keys: f.keys).load(try await f.sealed("a"), into: .memoryFile).get()
            for name in ["../weights.bin", "/etc/passwd", "tokenizer/../weights.bin", "missing.gguf"] {
                #expect(throws: ModelLoadError.self) { try model.path(of: name) }
                let error = try #require(catching { try model.bytes(of: name) })
                #expect(error.reason == .pathInvalid)
            }
        }
    }

    @Test("A sealed manifest whose path escapes the directory is refused before any key is asked for")
    func manifestPathEscape() async throws {
        try await withFixture { f in
            let sealed = try await f.sealed("a")
            try rewriteManifest(sealed) { m in
                m.with(files: m.files.map { $0.path == "config.json" ? .init(path: "../../config.json", sha256: $0.sha256, size: $0.size) : $0 })
            }
            let result = await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed)
            #expect(refusal(result) == .pathInvalid)
            #expect(!f.events.withLock { $0 }.contains { $0.hasPrefix("release acme/model") })
        }
    }

    @Test("A manifest file size past the format's bound is model_manifest_invalid before any key is asked for")
    func hugeFileSize() async throws {
        try await withFixture { f in
            let sealed = try await f.sealed("a")
            let releases = { f.events.withLock { $0.filter { $0.hasPrefix("release ") }.count } }
            let before = releases()
            for size in [-1, Int64.max, Int64.max - 4096, SealedModelFormat.maximumFileSize + 1] {
                try rewriteManifest(sealed) { m in
                    m.with(files: m.files.map { $0.path == "weights.bin" ? .init(path: $0.path, sha256: $0.sha256, size: size) : $0 })
                }
                for destination in [ModelDestination.memory, .memoryFile] {
                    #expect(refusal(await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed, into: destination)) == .manifestInvalid)
                }
            }
            #expect(releases() == before, "no release was asked for")
        }
    }

    @Test("Unsigned, mis-signed or another signer's model: model_signature_invalid")
    func signatureRefusals() async throws {
        try await withFixture { f in
            let sealed = try await f.sealed("a")
            let other = try ModelFixture.bundle(ModelFixture.files, key: P256.Signing.PrivateKey())
            try other.write(to: sealed.appendingPathComponent("model.sig"))
            #expect(refusal(await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed)) == .signatureInvalid)
            try FileManager.default.removeItem(at: sealed.appendingPathComponent("model.sig"))
            #expect(refusal(await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed)) == .signatureInvalid)
            var sig = try ModelFixture.bundle(ModelFixture.files, key: f.signer)
            sig[sig.count / 2] ^= 1
            try sig.write(to: sealed.appendingPathComponent("model.sig"))
            #expect(refusal(await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed)) != nil)
        }
    }

    @Test("Truncated, extended, chunk-reordered and missing sealed files are refused")
    func tamperedChunks() async throws {
        try await withFixture { f in
            let loader = ModelLoader(trust: try f.trust(), keys: f.keys)
            let sealed = try await f.sealed("a")
            let weights = sealed.appendingPathComponent(SealedModelFormat.blobName(1))
            let original = try Data(contentsOf: weights)
            try original.dropLast(100).write(to: weights)
            #expect(refusal(await loader.load(sealed)) == .truncated)
            try (original + Data([0])).write(to: weights)
            #expect(refusal(await loader.load(sealed)) == .chunkInvalid)
            let chunk = 4096 + 28
            var swapped = original
            swapped.replaceSubrange(0..<chunk, with: original[chunk..<(2 * chunk)])
            swapped.replaceSubrange(chunk..<(2 * chunk), with: original[0..<chunk])
            try swapped.write(to: weights)
            #expect(refusal(await loader.load(sealed)) == .chunkInvalid)
            var flipped = original
            flipped[5000] ^= 0x40
            try flipped.write(to: weights)
            #expect(refusal(await loader.load(sealed)) == .chunkInvalid)
            try FileManager.default.removeItem(at: weights)
            #expect(refusal(await loader.load(sealed)) == .truncated)
            try original.write(to: weights)
            #expect(refusal(await loader.load(sealed)) == nil)
        }
    }

    @Test("A manifest or sealed file that is a symbolic link or a FIFO is refused model_path_invalid, never followed or waited on")
    func linksAndFIFOs() async throws {
        try await withFixture { f in
            let loader = ModelLoader(trust: try f.trust(), keys: f.keys)
            let sealed = try await f.sealed("a")
            let manifest = sealed.appendingPathComponent(SealedModelFormat.manifestName)
            let original = try Data(contentsOf: manifest)
            let elsewhere = f.root.appendingPathComponent("elsewhere.json")
            try original.write(to: elsewhere)
            try FileManager.default.removeItem(at: manifest)
            try FileManager.default.createSymbolicLink(at: manifest, withDestinationURL: elsewhere)
            #expect(refusal(await loader.load(sealed)) == .pathInvalid)
            try FileManager.default.removeItem(at: manifest)
            // Checked on the open descriptor (O_NOFOLLOW, O_NONBLOCK, fstat): a file swapped for one of these after a
            // check is refused the same way, not waited on or read without end.
            #expect(mkfifo(manifest.path, 0o600) == 0)
            #expect(refusal(await loader.load(sealed)) == .pathInvalid)
            try FileManager.default.removeItem(at: manifest)
            try original.write(to: manifest)
            let weights = sealed.appendingPathComponent(SealedModelFormat.blobName(1))
            let blob = try Data(contentsOf: weights)
            try FileManager.default.removeItem(at: weights)
            try FileManager.default.createSymbolicLink(at: weights, withDestinationURL: elsewhere)
            #expect(refusal(await loader.load(sealed)) == .pathInvalid)
            try FileManager.default.removeItem(at: weights)
            try blob.write(to: weights)
            #expect(refusal(await loader.load(sealed)) == nil)
        }
    }

    @Test("A sealed file swapped in from another model, or files reordered in the manifest, does not open")
    func swappedBetweenModels() async throws {
        try await withFixture { f in
            let loader = ModelLoader(trust: try f.trust(), keys: f.keys)
            let a = try await f.sealed("a", model: "m1")
            let b = try await f.sealed("b", model: "m2")
            let blob = SealedModelFormat.blobName(1)
            try FileManager.default.removeItem(at: a.appendingPathComponent(blob))
            try FileManager.default.copyItem(at: b.appendingPathComponent(blob), to: a.appendingPathComponent(blob))
            #expect(refusal(await loader.load(a)) == .chunkInvalid)
            // Same sizes, swapped between two files of one model: the path is in every chunk's AAD.
            let same: [(String, Data)] = [("x.bin", Data(repeating: 1, count: 5000)), ("y.bin", Data(repeating: 2, count: 5000))]
            let c = try await f.sealed("c", model: "m3", files: same)
            let x = c.appendingPathComponent(SealedModelFormat.blobName(0))
            let y = c.appendingPathComponent(SealedModelFormat.blobName(1))
            let tmp = c.appendingPathComponent("tmp")
            try FileManager.default.moveItem(at: x, to: tmp)
            try FileManager.default.moveItem(at: y, to: x)
            try FileManager.default.moveItem(at: tmp, to: y)
            #expect(refusal(await loader.load(c)) == .chunkInvalid)
        }
    }

    @Test("A model key for another model: refused before release when expected, and when the manifest is pointed at it")
    func keyForAnotherModel() async throws {
        try await withFixture { f in
            let loader = ModelLoader(trust: try f.trust(), keys: f.keys)
            let a = try await f.sealed("a", model: "m1")
            _ = try await f.sealed("b", model: "m2")
            #expect(refusal(await loader.load(a, expected: ModelKeyResource("acme/model/m2"))) == .keyMismatch)
            try rewriteManifest(a) { $0.with(keyResource: "acme/model/m2") }
            #expect(refusal(await loader.load(a)) == .keyMismatch)
        }
    }

    @Test("The broker refuses the model key (release policy, unknown key): model_key_denied, counted as a release denial")
    func keyDenied() async throws {
        let policy = #"[{"id": "models-need-hardware", "applies_to": {"tenant": "acme", "resource_type": "model"}, "rule": {"field": "status", "equals": "affirming", "reason": "mock_evidence_not_permitted"}}]"#
        try await withFixture(policies: policy) { f in
            let sealed = try await f.sealed("a")
            #expect(refusal(await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed)) == .keyDenied)
            #expect(f.events.withLock { $0 }.contains("release acme/model/m1 mock_evidence_not_permitted"))
        }
        try await withFixture { f in
            let sealed = try await f.sealed("a")
            try await f.store.shred(tenant: TenantID(unchecked: "acme"))
            #expect(refusal(await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed)) == .keyDenied)
        }
    }

    @Test("A file whose decrypted bytes are not the signed ones (a re-signed tokenizer) is refused after decryption")
    func digestMismatchAfterDecryption() async throws {
        try await withFixture { f in
            let sealed = try await f.sealed("a")
            var files = ModelFixture.files
            files[2].1 = Data("[PAD]\nhello\nworlD\n".utf8)
            let resigned = try ModelFixture.bundle(files, key: f.signer)
            try resigned.write(to: sealed.appendingPathComponent("model.sig"))
            let oldHex = ModelFixture.hex(Data(SHA256.hash(data: ModelFixture.files[2].1)))
            let newHex = ModelFixture.hex(Data(SHA256.hash(data: files[2].1)))
            guard case .verified(let resources) = ModelSignatureVerifier(trust: try f.trust()).verify(
                bundleJSON: resigned, directory: try f.modelDirectory("resigned", files: files))
            else { throw ModelLoadError(.signatureInvalid, "resigned") }
            try rewriteManifest(sealed) { m in
                m.with(
                    modelDigest: SealedModelFormat.modelDigest(resources),
                    files: m.files.map { $0.sha256 == oldHex ? .init(path: $0.path, sha256: newHex, size: $0.size) : $0 })
            }
            #expect(refusal(await ModelLoader(trust: try f.trust(), keys: f.keys).load(sealed, into: .memoryFile)) == .digestMismatch)
        }
    }

    @Test("Sealing refuses a file changed after signing and leaves no output; the broker's model keys are not secrets")
    func sealingRefusals() async throws {
        try await withFixture { f in
            var files = ModelFixture.files
            let dir = try f.modelDirectory("plain", files: files)
            let bundle = try ModelFixture.bundle(files, key: f.signer)
            files[0].1 = Data("{}".utf8)
            let resources = try ModelSignatureVerifier(trust: try f.trust()).manifest(bundleJSON: bundle)
            try files[0].1.write(to: dir.appendingPathComponent("config.json"))
            let out = f.root.appendingPathComponent("out")
            let sealer = ModelSealer(keyResource: try #require(ModelKeyResource("acme/model/m9")), chunkSize: 4096)
            #expect(throws: ModelLoadError.self) {
                try sealer.seal(directory: dir, bundleJSON: bundle, resources: resources, dataKey: SymmetricKey(size: .bits256), wrappedDataKey: Data(), output: out)
            }
            #expect(!FileManager.default.fileExists(atPath: out.path))
            #expect(ModelKeyResource("acme/model/../x") == nil && ModelKeyResource("acme/kek/x") == nil)
            guard case .success = await f.broker.createModelKey(resource: "acme/model/m9", by: f.admin) else { throw ModelLoadError(.keyDenied, "create") }
            guard case .failure(let again) = await f.broker.createModelKey(resource: "acme/model/m9", by: f.admin) else { throw ModelLoadError(.keyDenied, "twice") }
            #expect(again.reason == .alreadyExists)
            guard case .failure(let short) = await f.broker.wrapModelDataKey(resource: "acme/model/m9", dataKey: Data(count: 5), by: f.admin) else {
                throw ModelLoadError(.keyDenied, "short key")
            }
            #expect(short.reason == .malformedRequest)
            #expect(try await f.broker.secretNames(tenant: "acme").allSatisfy { !$0.hasPrefix("model:") })
        }
    }
}

/// Rewrites `sealed-model.json`.
func rewriteManifest(_ sealed: URL, _ change: (SealedModelManifest) -> SealedModelManifest) throws {
    let url = sealed.appendingPathComponent("sealed-model.json")
    try JSONEncoder().encode(change(try JSONDecoder().decode(SealedModelManifest.self, from: Data(contentsOf: url)))).write(to: url)
}

extension SealedModelManifest {
    func with(keyResource: String? = nil, modelDigest: String? = nil, files: [File]? = nil) -> SealedModelManifest {
        SealedModelManifest(
            keyResource: keyResource ?? self.keyResource, modelDigest: modelDigest ?? self.modelDigest, wrappedDataKey: wrappedDataKey,
            chunkSize: chunkSize, files: files ?? self.files)
    }
}

/// The ModelLoadError `body` throws, if any.
func catching(_ body: () throws -> Data) -> ModelLoadError? {
    do {
        _ = try body()
        return nil
    } catch { return error as? ModelLoadError }
}
