import Crypto
import Foundation
import KBSProtocol
import SealgateCore
import Sigstore

/// Seals a verified model directory: every signed file encrypted in chunks under a fresh data key, streaming (one
/// chunk in memory at a time), into a new directory with the OMS bundle and ``SealedModelManifest``.
public struct ModelSealer: Sendable {
    /// The model key this model's data key is wrapped under.
    public let keyResource: ModelKeyResource
    /// Plaintext bytes per chunk.
    public let chunkSize: Int

    public init(keyResource: ModelKeyResource, chunkSize: Int = SealedModelFormat.defaultChunkSize) {
        self.keyResource = keyResource
        self.chunkSize = chunkSize
    }

    /// Seals `directory`, whose files `resources` are the verified OMS manifest of `bundleJSON`, into `output` (which
    /// must not exist). Each file's plaintext is hashed as it is sealed and must still match its signed digest.
    /// On any failure `output` is removed.
    /// - Parameters:
    ///   - dataKey: the fresh 32-byte data key; `wrappedDataKey` is that key wrapped by the broker under the model key.
    /// - Returns: the manifest written.
    /// - Throws: ``ModelLoadError``.
    public func seal(
        directory: URL, bundleJSON: Data, resources: [ModelSignatureVerifier.Resource], dataKey: SymmetricKey, wrappedDataKey: Data,
        output: URL
    ) throws -> SealedModelManifest {
        guard SealedModelFormat.chunkSizes.contains(chunkSize) else {
            throw ModelLoadError(.manifestInvalid, "chunk size \(chunkSize) is outside \(SealedModelFormat.chunkSizes)")
        }
        let fm = FileManager.default
        guard !fm.fileExists(atPath: output.path) else { throw ModelLoadError(.unreadable, "\(output.path) exists; give a new directory") }
        do {
            try fm.createDirectory(at: output.appendingPathComponent("files"), withIntermediateDirectories: true)
            var files: [SealedModelManifest.File] = []
            for (index, resource) in resources.enumerated() {
                guard SealedModelFormat.isSafePath(resource.name) else { throw ModelLoadError(.pathInvalid, "'\(resource.name)' is not a safe relative path") }
                let size = try sealFile(
                    directory.appendingPathComponent(resource.name), resource: resource, dataKey: dataKey,
                    to: output.appendingPathComponent(SealedModelFormat.blobName(index)))
                files.append(.init(path: resource.name, sha256: SealedModelFormat.hex(resource.digest), size: size))
            }
            let manifest = SealedModelManifest(
                keyResource: keyResource.description, modelDigest: SealedModelFormat.modelDigest(resources),
                wrappedDataKey: Base64URL.encode(wrappedDataKey), chunkSize: chunkSize, files: files)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(manifest).write(to: output.appendingPathComponent(SealedModelFormat.manifestName))
            try bundleJSON.write(to: output.appendingPathComponent(SealedModelFormat.signatureName))
            return manifest
        } catch {
            try? fm.removeItem(at: output)
            if let error = error as? ModelLoadError { throw error }
            throw ModelLoadError(.unreadable, "cannot write the sealed model: \(error)")
        }
    }

    /// Seals one file chunk by chunk; returns its size.
    private func sealFile(_ source: URL, resource: ModelSignatureVerifier.Resource, dataKey: SymmetricKey, to target: URL) throws -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: source.path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular, let size = (attributes?[.size] as? NSNumber)?.int64Value else {
            throw ModelLoadError(.unreadable, "'\(resource.name)' is not a regular file")
        }
        guard let input = try? FileHandle(forReadingFrom: source) else { throw ModelLoadError(.unreadable, "cannot read '\(resource.name)'") }
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: target.path, contents: nil), let output = try? FileHandle(forWritingTo: target) else {
            throw ModelLoadError(.unreadable, "cannot create \(target.path)")
        }
        defer { try? output.close() }
        let total = SealedModelFormat.chunkCount(size: size, chunkSize: chunkSize)
        var hasher = SHA256()
        var read: Int64 = 0
        for index in 0..<total {
            let expected = Int(min(Int64(chunkSize), size - read))
            let chunk = try input.read(upToCount: expected) ?? Data()
            guard chunk.count == expected else { throw ModelLoadError(.unreadable, "'\(resource.name)' changed size while it was sealed") }
            hasher.update(data: chunk)
            read += Int64(chunk.count)
            let aad = SealedModelFormat.chunkAAD(model: keyResource.description, path: resource.name, index: index, total: total)
            guard let sealed = try AES.GCM.seal(chunk, using: dataKey, authenticating: aad).combined else {
                throw ModelLoadError(.unreadable, "AES-GCM produced no combined form")
            }
            try output.write(contentsOf: sealed)
        }
        guard try input.read(upToCount: 1)?.isEmpty ?? true else { throw ModelLoadError(.unreadable, "'\(resource.name)' grew while it was sealed") }
        guard Data(hasher.finalize()) == resource.digest else {
            throw ModelLoadError(.digestMismatch, "'\(resource.name)' differs from its signed digest")
        }
        try output.synchronize()
        return size
    }
}
