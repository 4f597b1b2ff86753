import Crypto
import Foundation

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`) as `skopeo copy … oci:DIR` writes
/// it: the image manifest to verify and the Sigstore bundles attached to it as referrers.
public struct OCIImageLayout: Sendable {
    /// Media type of a Sigstore bundle as a referrer artifact or layer.
    public static let bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"
    /// Largest blob read from a layout (a manifest or a bundle).
    public static let maximumBlobSize = SigstoreBundle.maximumSize

    /// One entry of `index.json`'s `manifests`.
    struct Entry: Sendable {
        let digest: String
        let hasSubject: Bool
        let artifactType: String?
    }

    public let directory: URL
    private let manifests: [Entry]

    /// Reads `index.json`.
    /// - Throws: ``SigstoreError`` `invalid_image_layout`.
    public init(directory: URL) throws {
        self.directory = directory
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("index.json")),
            let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let manifests = index["manifests"] as? [[String: Any]]
        else { throw SigstoreError(.invalidImageLayout, "'\(directory.path)' has no readable index.json") }
        self.manifests = manifests.compactMap { m in
            (m["digest"] as? String).map { Entry(digest: $0, hasSubject: m["subject"] != nil, artifactType: m["artifactType"] as? String) }
        }
    }

    /// The digest (`sha256:<hex>`) of the one image manifest the index lists that is not a referrer.
    /// - Throws: ``SigstoreError`` `invalid_image_layout` when there is none or more than one.
    public func imageDigest() throws -> String {
        let images = manifests.filter { !$0.hasSubject && $0.artifactType?.hasPrefix(Self.bundleMediaTypePrefix) != true }.map(\.digest)
        guard images.count == 1, let digest = images.first else {
            throw SigstoreError(.invalidImageLayout, "the layout lists \(images.count) images; name the digest to verify")
        }
        return digest
    }

    /// The bytes of a blob, checked against its digest.
    /// - Throws: ``SigstoreError`` `invalid_image_layout` when it is absent, too large or does not hash to `digest`.
    public func blob(_ digest: String) throws -> Data {
        guard let hex = Self.sha256Hex(digest) else { throw SigstoreError(.invalidImageLayout, "'\(digest)' is not a sha256 digest") }
        let url = directory.appendingPathComponent("blobs/sha256/\(hex)")
        guard let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int,
            size <= Self.maximumBlobSize, let data = try? Data(contentsOf: url)
        else { throw SigstoreError(.invalidImageLayout, "blob \(digest) is absent or too large") }
        guard Data(SHA256.hash(data: data)).hexString == hex else {
            throw SigstoreError(.invalidImageLayout, "blob \(digest) does not hash to its name")
        }
        return data
    }

    /// The Sigstore bundles attached to `digest` as OCI referrers (manifests whose `subject` is it and whose
    /// artifact type or layer is a bundle), in index order.
    public func referrerBundles(of digest: String) throws -> [Data] {
        var out: [Data] = []
        for entry in manifests where entry.digest != digest {
            let manifest = try blob(entry.digest)
            guard let object = try? JSONSerialization.jsonObject(with: manifest) as? [String: Any],
                (object["subject"] as? [String: Any])?["digest"] as? String == digest,
                let layers = object["layers"] as? [[String: Any]]
            else { continue }
            for layer in layers where (layer["mediaType"] as? String)?.hasPrefix(Self.bundleMediaTypePrefix) == true {
                if let layerDigest = layer["digest"] as? String { out.append(try blob(layerDigest)) }
            }
        }
        return out
    }

    /// The lowercase hex of `sha256:<64 hex>`, or nil.
    public static func sha256Hex(_ digest: String) -> String? {
        guard digest.hasPrefix("sha256:") else { return nil }
        let hex = String(digest.dropFirst(7)).lowercased()
        guard hex.count == 64, Data(hex: hex) != nil else { return nil }
        return hex
    }
}
