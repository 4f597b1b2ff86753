import ArgumentParser
import Foundation
import Sigstore

struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Signed container images (cosign Sigstore bundles).", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify that an image manifest digest is signed under an identity policy or key; print the digest.",
            discussion: """
                --layout DIR reads an OCI image layout (as 'skopeo copy … oci:DIR' writes it): the image is its one \
                manifest (or --digest), the signatures are the Sigstore bundles attached to it as OCI referrers, or \
                --bundle FILE. Without --layout give --digest and --bundle. A bundle counts when its DSSE in-toto \
                subject is the manifest digest, or its message signature is over the manifest. Exit status 0 only \
                when a bundle verifies; 1 with 'refused (<reason>): …' otherwise.
                """)

        @Option(help: "An OCI image layout directory.") var layout: String?
        @Option(help: "The image manifest digest, sha256:<64 hex>.") var digest: String?
        @Option(help: "A Sigstore bundle file (instead of the layout's referrers).") var bundle: String?
        @OptionGroup var signer: SignerOptions

        func validate() throws {
            if layout == nil && (digest == nil || bundle == nil) { throw ValidationError("give --layout DIR, or --digest with --bundle") }
            if let digest, ArtifactInput(digest: digest) == nil { throw ValidationError("--digest must be sha256:<64 hex>") }
            if !signer.certificateChain.isEmpty { throw ValidationError("--certificate-chain is for 'model verify' only") }
        }

        func run() async throws {
            let verifier = BundleVerifier(trustedRoot: try signer.root())
            let policy = try signer.policy()
            let oci = try layout.map { path in
                do { return try OCIImageLayout(directory: URL(fileURLWithPath: path)) } catch let error as SigstoreError {
                    throw RuntimeFailure("\(error.detail); give an OCI image layout directory (skopeo copy … oci:DIR)")
                }
            }
            let imageDigest = try digest ?? imageDigest(oci)
            let artifact = try self.artifact(imageDigest, oci)
            let bundles = try self.bundles(imageDigest, oci)
            var firstRefusal: SigstoreError?
            for json in bundles {
                switch verifier.verify(bundleJSON: json, artifact: artifact, policy: policy) {
                case .verified(let verified):
                    printVerified(verified, subject: "image")
                    print(imageDigest)
                    return
                case .refused(let error): firstRefusal = firstRefusal ?? error
                }
            }
            throw refusalFailure(firstRefusal ?? SigstoreError(.invalidImageLayout, "no bundle"))
        }

        private func imageDigest(_ oci: OCIImageLayout?) throws -> String {
            guard let oci else { throw ValidationError("give --digest") }
            do { return try oci.imageDigest() } catch let error as SigstoreError { throw RuntimeFailure("\(error.detail)") }
        }

        /// The manifest's bytes when the layout has them (checked against the digest), else the digest alone.
        private func artifact(_ imageDigest: String, _ oci: OCIImageLayout?) throws -> ArtifactInput {
            if let oci, let manifest = try? oci.blob(imageDigest) { return .bytes(manifest) }
            guard let input = ArtifactInput(digest: imageDigest) else { throw RuntimeFailure("\(imageDigest) is not sha256:<64 hex>") }
            return input
        }

        private func bundles(_ imageDigest: String, _ oci: OCIImageLayout?) throws -> [Data] {
            if let bundle { return [try readData(bundle, what: "bundle", limit: SigstoreBundle.maximumSize)] }
            guard let oci else { return [] }
            let found: [Data]
            do { found = try oci.referrerBundles(of: imageDigest) } catch let error as SigstoreError {
                throw RuntimeFailure("\(error.detail); repair the layout or give --bundle FILE")
            }
            guard !found.isEmpty else {
                throw RuntimeFailure("no Sigstore bundle is attached to \(imageDigest) in \(oci.directory.path); give --bundle FILE")
            }
            return found
        }
    }
}
