import Crypto
import Foundation
import KBSProtocol
import SealgateCore
import Sigstore

#if canImport(Glibc)
    import Glibc
#endif

/// Where a model key comes from: the broker, after attestation (``LeaseModelKeySource``).
public protocol ModelKeySource: Sendable {
    /// The broker's release for `resource` (``ModelKeyRelease`` JSON), or why it was refused (`model_key_denied`).
    func release(_ resource: ModelKeyResource) async -> Result<Data, ModelLoadError>
}

/// The protected model loader: signature → model key (an attested release) → decrypt chunk by chunk into memory
/// or memfds → every file's digest checked against the signed manifest → the model. Any failure: nothing is
/// handed over, descriptors are closed, and the reason is a ``ModelLoadError`` value.
public struct ModelLoader: Sendable {
    /// Who must have signed the model (OMS).
    public let trust: ModelSignatureVerifier.Trust
    public let keys: any ModelKeySource

    public init(trust: ModelSignatureVerifier.Trust, keys: any ModelKeySource) {
        self.trust = trust
        self.keys = keys
    }

    /// Loads the sealed model in `directory`.
    /// - Parameter expected: the model key resource the caller means to load; a sealed model for another is refused
    ///   (`model_key_mismatch`) before the broker is asked.
    public func load(_ directory: URL, expected: ModelKeyResource? = nil, into destination: ModelDestination = .memory) async -> Result<ProtectedModel, ModelLoadError> {
        do {
            let (manifest, resource, signed) = try verifiedManifest(directory)
            if let expected, expected != resource {
                throw ModelLoadError(.keyMismatch, "the sealed model is for \(resource), not \(expected)")
            }
            let dataKey = try await self.dataKey(manifest, resource)
            return .success(try decrypt(directory, manifest, resource, signed, dataKey, destination))
        } catch let error as ModelLoadError {
            return .failure(error)
        } catch {
            return .failure(ModelLoadError(.unreadable, "\(error)"))
        }
    }

    /// The key resource and model digest of the sealed model in `directory` once its signature and manifest verify,
    /// without asking for the key: what `tee-proxy --model` binds into its evidence before the release.
    public static func inspect(_ directory: URL, trust: ModelSignatureVerifier.Trust) -> Result<(resource: ModelKeyResource, digest: String), ModelLoadError> {
        do {
            let (manifest, resource, _) = try verifiedManifest(directory, trust: trust)
            return .success((resource, manifest.modelDigest))
        } catch let error as ModelLoadError {
            return .failure(error)
        } catch {
            return .failure(ModelLoadError(.unreadable, "\(error)"))
        }
    }

    /// Reads `sealed-model.json` and `model.sig`, verifies the signature and requires the sealed manifest to list
    /// exactly the signed files, in order, with their digests, and the signed model digest.
    func verifiedManifest(_ directory: URL) throws -> (SealedModelManifest, ModelKeyResource, [ModelSignatureVerifier.Resource]) {
        try Self.verifiedManifest(directory, trust: trust)
    }

    static func verifiedManifest(_ directory: URL, trust: ModelSignatureVerifier.Trust) throws -> (
        SealedModelManifest, ModelKeyResource, [ModelSignatureVerifier.Resource]
    ) {
        let manifestData = try Self.readSmallFile(directory, SealedModelFormat.manifestName, limit: SealedModelFormat.maximumManifestSize)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(SealedModelFormat.signatureName).path) else {
            throw ModelLoadError(.signatureInvalid, "the sealed model has no model.sig: unsigned models are not loaded")
        }
        let bundle = try Self.readSmallFile(directory, SealedModelFormat.signatureName, limit: SigstoreBundle.maximumSize)
        let signed: [ModelSignatureVerifier.Resource]
        do {
            signed = try ModelSignatureVerifier(trust: trust).manifest(bundleJSON: bundle)
        } catch let error as SigstoreError {
            throw ModelLoadError(.signatureInvalid, "model.sig: \(error.reason.rawValue)")
        }
        guard let manifest = try? JSONDecoder().decode(SealedModelManifest.self, from: manifestData), manifest.format == SealedModelFormat.version
        else { throw ModelLoadError(.manifestInvalid, "sealed-model.json is not a \(SealedModelFormat.version) manifest") }
        guard let resource = ModelKeyResource(manifest.keyResource) else { throw ModelLoadError(.manifestInvalid, "key_resource is not <scope>/model/<name>") }
        guard SealedModelFormat.chunkSizes.contains(manifest.chunkSize) else { throw ModelLoadError(.manifestInvalid, "chunk_size is out of range") }
        if let unsafe = manifest.files.first(where: { !SealedModelFormat.isSafePath($0.path) }) {
            throw ModelLoadError(.pathInvalid, "'\(unsafe.path)' escapes the model directory")
        }
        guard manifest.files.allSatisfy({ (0...SealedModelFormat.maximumFileSize).contains($0.size) }) else {
            throw ModelLoadError(.manifestInvalid, "a file size in sealed-model.json is negative or over \(SealedModelFormat.maximumFileSize) bytes")
        }
        guard manifest.files.count == signed.count else {
            throw ModelLoadError(.manifestInvalid, "sealed-model.json lists \(manifest.files.count) files, the signature \(signed.count)")
        }
        for (file, resource) in zip(manifest.files, signed) where file.path != resource.name || file.sha256 != SealedModelFormat.hex(resource.digest) {
            throw ModelLoadError(.manifestInvalid, "sealed-model.json's '\(file.path)' is not the signed file '\(resource.name)' at that position")
        }
        guard manifest.modelDigest == SealedModelFormat.modelDigest(signed) else {
            throw ModelLoadError(.manifestInvalid, "model_digest is not the signed manifest's digest")
        }
        return (manifest, resource, signed)
    }

    /// Asks the broker for the model key and unwraps the data key with it.
    func dataKey(_ manifest: SealedModelManifest, _ resource: ModelKeyResource) async throws -> SymmetricKey {
        let plain: Data
        switch await keys.release(resource) {
        case .failure(let error): throw error
        case .success(let value): plain = value
        }
        guard let release = try? JSONDecoder().decode(ModelKeyRelease.self, from: plain), let raw = Base64URL.decode(release.key), raw.count == 32 else {
            throw ModelLoadError(.keyMismatch, "the broker's release is not a model key")
        }
        guard release.resource == resource.description else {
            throw ModelLoadError(.keyMismatch, "the released key is for \(release.resource), not \(resource)")
        }
        guard let wrapped = Base64URL.decode(manifest.wrappedDataKey),
            let dataKey = ModelKeyWrap.unwrap(wrapped, under: SymmetricKey(data: raw), for: resource)
        else { throw ModelLoadError(.keyMismatch, "the data key does not open under the model key of \(resource)") }
        return dataKey
    }

    /// Decrypts every file on two cores, hashing the plaintext; hands the model over only when every digest matches
    /// the signed one.
    ///
    /// Every sealed file is opened and its size checked, and every file's destination (a mapping of its memfd, or
    /// memory: ``PlaintextFile``) made, before the first chunk is read. Then a ``ChunkPipeline`` reads each chunk's
    /// ciphertext straight into its place and opens it there (``ChunkCipher``) on this thread and, whenever it is
    /// ahead, on the hashing thread, which hashes the opened chunks in order. The digests are compared once every
    /// file is decrypted and the pipeline has returned (so nothing reads the files any more); only then are the
    /// memfds unmapped and sealed (or the memory kept). On any refusal every mapping and memfd of the load is
    /// released, so nothing partial is handed over.
    func decrypt(
        _ directory: URL, _ manifest: SealedModelManifest, _ resource: ModelKeyResource, _ signed: [ModelSignatureVerifier.Resource],
        _ dataKey: SymmetricKey, _ destination: ModelDestination
    ) throws -> ProtectedModel {
        let cipher = try ChunkCipher(key: dataKey)
        var blobs: [FileHandle] = []
        defer { for blob in blobs { try? blob.close() } }
        var sources: [ChunkSource] = []
        var chunks: Int64 = 0
        for (index, file) in manifest.files.enumerated() {
            let blob = try Self.openRegularFile(directory, SealedModelFormat.blobName(index))
            blobs.append(blob.handle)
            let expectedSize = SealedModelFormat.sealedSize(size: file.size, chunkSize: manifest.chunkSize)
            guard blob.size == expectedSize else {
                throw ModelLoadError(
                    blob.size < expectedSize ? .truncated : .chunkInvalid, "'\(file.path)' is \(blob.size) sealed bytes, \(expectedSize) expected")
            }
            let total = SealedModelFormat.chunkCount(size: file.size, chunkSize: manifest.chunkSize)
            sources.append(
                ChunkSource(
                    plaintext: try PlaintextFile(size: file.size, memoryFileNamed: destination == .memoryFile ? file.path : nil),
                    descriptor: blob.handle.fileDescriptor, path: file.path, firstChunk: chunks, chunks: total))
            chunks += total
        }
        let pipeline = ChunkPipeline(sources: sources, model: resource.description, chunkSize: manifest.chunkSize, cipher: cipher)
        let (digests, statistics) = try pipeline.run()
        guard digests.count == signed.count else { throw ModelLoadError(.digestMismatch, "\(digests.count) of \(signed.count) files hashed") }
        for (index, file) in manifest.files.enumerated() where digests[index] != signed[index].digest {
            throw ModelLoadError(.digestMismatch, "'\(file.path)' decrypted to bytes whose SHA-256 is not the signed digest")
        }
        let files = sources.map(\.plaintext)
        let storage: ProtectedModel.Storage
        if destination == .memoryFile {
            var descriptors: [String: Int32] = [:]
            do {
                for (file, plaintext) in zip(manifest.files, files) { descriptors[file.path] = try plaintext.sealedMemoryFile() }
            } catch {
                for fd in descriptors.values { close(fd) }
                throw error
            }
            storage = .memfd(descriptors)
        } else {
            var memory: [String: Data] = [:]
            for (file, plaintext) in zip(manifest.files, files) { memory[file.path] = plaintext.data() }
            storage = .memory(memory)
        }
        return ProtectedModel(
            resource: resource, digest: manifest.modelDigest, fileNames: signed.map(\.name), storage: storage, statistics: statistics)
    }

    /// A regular file (not a symbolic link) directly under `directory`, opened for reading, and its size — both from
    /// the descriptor itself: opened with `O_NOFOLLOW` (a link swapped in after a check is not followed) and
    /// `O_NONBLOCK` (a FIFO does not block the open), then `fstat`ed, so what is checked is what is read.
    static func openRegularFile(_ directory: URL, _ name: String) throws -> (handle: FileHandle, size: Int64) {
        let path = directory.appendingPathComponent(name).path
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw ModelLoadError(.truncated, "\(name) is missing from the sealed model") }
            if errno == ELOOP { throw ModelLoadError(.pathInvalid, "\(name) is not a regular file (a symbolic link?)") }
            throw ModelLoadError(.unreadable, "cannot read \(name)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ModelLoadError(.pathInvalid, "\(name) is not a regular file (a symbolic link?)")
        }
        return (FileHandle(fileDescriptor: fd, closeOnDealloc: true), Int64(info.st_size))
    }

    /// A small file read whole, at most `limit` bytes (more refuses it, whatever its size said when it was opened).
    static func readSmallFile(_ directory: URL, _ name: String, limit: Int) throws -> Data {
        let file = try openRegularFile(directory, name)
        defer { try? file.handle.close() }
        guard file.size <= limit, let data = try? file.handle.read(upToCount: limit + 1) ?? Data(), data.count <= limit else {
            throw ModelLoadError(.manifestInvalid, "\(name) is larger than \(limit) bytes or unreadable")
        }
        return data
    }
}
