import Attestation

/// What `sealgate --version` prints: the release, the commit when one was embedded, and the executable's digest.
enum SealgateVersion {
    /// The release of this source tree.
    static let release = "0.9.0"

    /// SwiftPM embeds no commit; the executable's SHA-384 identifies the build instead (the digest the mock
    /// measurement combines with the policy digest, so it matches `sealgate measure`'s `executable_digest`).
    static func text(executablePath: String = MockMeasurement.runningExecutablePath) -> String {
        let digest = (try? MockMeasurement.executableDigest(path: executablePath)) ?? "unavailable (cannot read \(executablePath))"
        return """
            sealgate \(release)
            commit: unknown (not embedded by SwiftPM builds; the executable digest identifies this build)
            executable sha-384: \(digest)
            """
    }
}
