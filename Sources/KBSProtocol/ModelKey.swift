import Crypto
import Foundation
import SealgateCore

/// A model key's resource path, `<scope>/model/<name>`: the broker holds one AES-256 key per sealed model and
/// releases it, like a KEK, only to TEEs its release policies accept.
public struct ModelKeyResource: Sendable, Hashable, CustomStringConvertible {
    /// The first segment: the tenant that owns the key.
    public let scope: TenantID
    /// The model's name: letters, digits, `.`, `_`, `-` (at most 64).
    public let name: String

    /// Parses `<scope>/model/<name>`; `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[1] == "model", let scope = TenantID(parts[0]), Self.isValidName(parts[2]) else { return nil }
        self.scope = scope
        self.name = parts[2]
    }

    /// Whether `name` is a valid model name.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name != "." && !name.contains("..")
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }

    public var description: String { "\(scope)/model/\(name)" }
}

/// What the broker releases for a model key (canonical JSON inside the JWE): the resource it is for, so a key
/// released for one model is never taken for another's.
public struct ModelKeyRelease: Codable, Sendable, Equatable {
    /// `<scope>/model/<name>`.
    public let resource: String
    /// The 32-byte key, base64url.
    public let key: String

    public init(resource: String, key: String) {
        self.resource = resource
        self.key = key
    }
}

/// Wrapping a sealed model's data key under its model key (AES-256-GCM, nonce ‖ ciphertext ‖ tag). The associated
/// data names the model key's resource, so a data key wrapped for one model does not open under another's key.
public enum ModelKeyWrap {
    /// Associated data of a wrapped data key.
    public static func aad(_ resource: ModelKeyResource) -> Data { Data("sealgate-model-dek-v1|\(resource)".utf8) }

    /// Wraps a 32-byte data key.
    public static func wrap(_ dataKey: Data, under key: SymmetricKey, for resource: ModelKeyResource) throws -> Data {
        guard let combined = try AES.GCM.seal(dataKey, using: key, authenticating: aad(resource)).combined else {
            throw SealgateError(.internalError, "AES-GCM produced no combined form")
        }
        return combined
    }

    /// Unwraps a data key; `nil` when it was not wrapped under `key` for `resource`, or is not 32 bytes.
    public static func unwrap(_ wrapped: Data, under key: SymmetricKey, for resource: ModelKeyResource) -> SymmetricKey? {
        guard let box = try? AES.GCM.SealedBox(combined: wrapped), let raw = try? AES.GCM.open(box, using: key, authenticating: aad(resource)),
            raw.count == 32
        else { return nil }
        return SymmetricKey(data: raw)
    }
}
