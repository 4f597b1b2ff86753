import ArgumentParser
import Foundation
import Sigstore

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Signed model artifacts (OpenSSF model signing v1.0).", subcommands: [Verify.self, Seal.self, Embed.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify a model directory against its OpenSSF model-signing bundle (model.sig).",
            discussion: """
                The signature must verify (--key, --certificate-chain, or a Sigstore certificate identity), then the \
                directory must hold exactly the signed files: an extra, missing, renamed or changed file is refused. \
                Files are hashed once each, streaming, several at a time (--jobs). .git, .github, .gitignore and \
                .gitattributes are always ignored, as is the bundle itself when it lies inside DIR. Exit status 0 only \
                when everything verifies; 1 with 'refused (<reason>): …' otherwise.
                """)

        @Argument(help: "The model directory.") var directory: String
        @Option(help: "The model signature bundle.") var bundle: String
        @Option(name: .customLong("ignore-paths"), parsing: .singleValue, help: "A path relative to DIR to leave out (repeatable).")
        var ignorePaths: [String] = []
        @Option(help: "Files hashed at once (default: the number of cores).") var jobs = ProcessInfo.processInfo.activeProcessorCount
        @OptionGroup var signer: SignerOptions

        func validate() throws {
            if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        }

        func run() async throws {
            let trust = try signer.modelTrust()
            let bundleJSON = try readData(bundle, what: "model signature", limit: SigstoreBundle.maximumSize)
            let dir = URL(fileURLWithPath: directory).standardizedFileURL
            var ignoring = ignorePaths
            let bundlePath = URL(fileURLWithPath: bundle).standardizedFileURL.path
            if bundlePath.hasPrefix(dir.path + "/") { ignoring.append(String(bundlePath.dropFirst(dir.path.count + 1))) }
            switch ModelSignatureVerifier(trust: trust).verify(bundleJSON: bundleJSON, directory: dir, ignoring: ignoring, parallelism: jobs) {
            case .verified(let files): print("OK: \(directory): \(files.count) files match the signature")
            case .refused(let error): throw refusalFailure(error)
            }
        }
    }
}
