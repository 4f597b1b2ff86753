import Crypto
import Foundation
import KBSProtocol
import Sigstore

/// `sealed-model.json`: what a sealed model directory holds, readable without any key.
///
/// A sealed directory is `sealed-model.json`, `model.sig` (the OMS bundle, verbatim) and `files/NNNNNN.sealed`, one
/// per signed file in the manifest's order. Each sealed file is the file's chunks in order, each `nonce (12) ‖
/// ciphertext ‖ tag (16)` under AES-256-GCM with the model's data key and ``SealedModelFormat/chunkAAD(model:path:index:total:)``.
public struct SealedModelManifest: Codable, Sendable, Equatable {
    /// `sealgate-sealed-model/v1`.
    public let format: String
    /// The model key's resource `<scope>/model/<name>`: the model's identity in every AAD.
    public let keyResource: String
    /// `sha256:<hex>`: the OMS manifest digest (the in-toto subject: SHA-256 of the file digests in order).
    public let modelDigest: String
    /// The data key wrapped under the model key (``ModelKeyWrap``), base64url.
    public let wrappedDataKey: String
    /// Plaintext bytes per chunk (the last chunk of a file may be shorter).
    public let chunkSize: Int
    /// The signed files, in the signature's order.
    public let files: [File]

    /// One sealed file.
    public struct File: Codable, Sendable, Equatable {
        /// Relative, '/'-separated, as signed.
        public let path: String
        /// Hex SHA-256 of the plaintext, as signed.
        public let sha256: String
        /// Plaintext size in bytes.
        public let size: Int64

        public init(path: String, sha256: String, size: Int64) {
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    public init(keyResource: String, modelDigest: String, wrappedDataKey: String, chunkSize: Int, files: [File]) {
        self.format = SealedModelFormat.version
        self.keyResource = keyResource
        self.modelDigest = modelDigest
        self.wrappedDataKey = wrappedDataKey
        self.chunkSize = chunkSize
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case format, files
        case keyResource = "key_resource"
        case modelDigest = "model_digest"
        case wrappedDataKey = "wrapped_data_key"
        case chunkSize = "chunk_size"
    }
}

/// Constants and rules of the sealed format, shared by the sealer and the loader.
public enum SealedModelFormat {
    public static let version = "sealgate-sealed-model/v1"
    public static let manifestName = "sealed-model.json"
    public static let signatureName = "model.sig"
    /// The default chunk: 4 MiB of plaintext.
    public static let defaultChunkSize = 4 << 20
    /// Chunk sizes accepted: 4 KiB to 64 MiB (the loader holds one chunk at a time).
    public static let chunkSizes = 4096...(64 << 20)
    /// The largest file size a manifest may give: 256 TiB, so the sealed-size arithmetic cannot overflow.
    public static let maximumFileSize: Int64 = 1 << 48
    /// The largest `sealed-model.json` read.
    public static let maximumManifestSize = 16 << 20
    static let nonceSize = 12
    static let tagSize = 16

    /// `files/NNNNNN.sealed` for the file at `index` (the name comes from the index, never from the manifest).
    public static func blobName(_ index: Int) -> String { "files/" + String(String(index + 1_000_000).dropFirst()) + ".sealed" }

    /// Chunks of a file of `size` bytes (an empty file has one empty chunk, so its removal is seen).
    public static func chunkCount(size: Int64, chunkSize: Int) -> Int64 { max(1, (size + Int64(chunkSize) - 1) / Int64(chunkSize)) }

    /// The sealed size of a file of `size` bytes.
    public static func sealedSize(size: Int64, chunkSize: Int) -> Int64 {
        size + chunkCount(size: size, chunkSize: chunkSize) * Int64(nonceSize + tagSize)
    }

    /// The AAD of one chunk: model (its key resource), file path, chunk index and total chunks, each length-prefixed,
    /// so a chunk moved to another position, file or model does not open.
    public static func chunkAAD(model: String, path: String, index: Int64, total: Int64) -> Data {
        var out = Data("sealgate-model-chunk-v1".utf8)
        for field in [Data(model.utf8), Data(path.utf8)] {
            out.append(contentsOf: withUnsafeBytes(of: UInt32(field.count).bigEndian) { Array($0) })
            out.append(field)
        }
        out.append(contentsOf: withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) })
        out.append(contentsOf: withUnsafeBytes(of: UInt64(total).bigEndian) { Array($0) })
        return out
    }

    /// Whether `path` is a safe relative path: non-empty segments, no `.` or `..`, not absolute, no NUL or backslash.
    public static func isSafePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\0"), !path.contains("\\") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// `sha256:<hex>` of the OMS subject: SHA-256 of the signed file digests concatenated in order.
    public static func modelDigest(_ resources: [ModelSignatureVerifier.Resource]) -> String {
        var concatenated = Data()
        for resource in resources { concatenated.append(resource.digest) }
        return "sha256:" + hex(Data(SHA256.hash(data: concatenated)))
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }
}
