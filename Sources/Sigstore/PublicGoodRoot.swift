import Crypto
import Foundation

/// The trusted roots of Sigstore's public-good instance, shipped with Sealgate (no TUF client runs: refresh them
/// with a release, see `docs/sigstore.md`).
public enum PublicGoodRoot {
    /// Which instance.
    public enum Instance: String, Sendable {
        case production, staging
    }

    /// The embedded root's JSON text.
    public static func json(_ instance: Instance) -> String {
        switch instance {
        case .production: productionJSON
        case .staging: stagingJSON
        }
    }

    /// The embedded root, parsed.
    /// - Throws: ``SigstoreError`` `malformed_trusted_root` (only if the embedded text were damaged).
    public static func trustedRoot(_ instance: Instance) throws -> TrustedRoot {
        try TrustedRoot(json: Data(json(instance).utf8))
    }

    /// SHA-256 of the embedded text, hex: equal to the upstream file's.
    public static func sha256(_ instance: Instance) -> String { Data(SHA256.hash(data: Data(json(instance).utf8))).hexString }
}
