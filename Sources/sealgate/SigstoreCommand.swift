import ArgumentParser
import Foundation
import Sigstore

struct SigstoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigstore", abstract: "Sigstore bundle verification, offline.", subcommands: [VerifyBundle.self])

    struct VerifyBundle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-bundle",
            abstract: "Verify a Sigstore bundle over a file or a sha256:<hex> digest (sigstore-conformance CLI protocol).",
            discussion: """
                verify-bundle [--staging] --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | \
                --key PEM) [--trusted-root FILE] FILE_OR_DIGEST. Exit status 0 only when the bundle verifies; 1 with \
                'refused (<reason>): …' on standard error otherwise. Reasons: docs/sigstore.md.
                """)

        @Option(help: "The Sigstore bundle (JSON).") var bundle: String
        @OptionGroup var signer: SignerOptions
        @Argument(help: "The artifact, or its digest as sha256:<64 hex> (when no such file exists).") var fileOrDigest: String

        func validate() throws {
            if !signer.certificateChain.isEmpty { throw ValidationError("--certificate-chain is for 'model verify' only") }
        }

        func run() async throws {
            let verifier = BundleVerifier(trustedRoot: try signer.root())
            let policy = try signer.policy()
            let bundleJSON = try readData(bundle, what: "bundle", limit: SigstoreBundle.maximumSize)
            let outcome = verifier.verify(bundleJSON: bundleJSON, artifact: try artifact(), policy: policy)
            switch outcome {
            case .verified(let verified): printVerified(verified, subject: "bundle verified for")
            case .refused(let error): throw refusalFailure(error)
            }
        }

        /// The digest form when the argument is `sha256:<64 hex>` and not a path on disk; otherwise the file.
        func artifact() throws -> ArtifactInput {
            if !FileManager.default.fileExists(atPath: fileOrDigest), let digest = ArtifactInput(digest: fileOrDigest) {
                return digest
            }
            return .bytes(try readData(fileOrDigest, what: "artifact"))
        }
    }
}
