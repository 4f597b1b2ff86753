import Crypto
import Foundation
import SealgateCore
import Synchronization

/// The mock TEE's measurement: SHA-384 of the executable, combined with the policy bundle's digest.
public struct MockMeasurement: Sendable, Equatable, Codable {
    /// Hex SHA-384 of the executable file.
    public let executableDigest: String
    /// Hex SHA-256 of the policy bundle.
    public let policyDigest: String
    /// Hex SHA-384(executableDigest bytes ‖ policyDigest bytes).
    public let measurement: String

    /// Builds the measurement from its components.
    public init(executableDigest: String, policyDigest: String) {
        self.executableDigest = executableDigest
        self.policyDigest = policyDigest
        self.measurement = MockMeasurement.combine(executableDigest: executableDigest, policyDigest: policyDigest)
    }

    /// A measurement set directly, without components (both component digests empty), for tools that play a mock
    /// TEE with a measurement of their choosing (`sealgate attestation mock-evidence --measurement`).
    /// - Returns: `nil` unless `measurement` is 48 bytes of hex.
    public init?(measurement: String) {
        guard let bytes = Hex.decode(measurement), bytes.count == 48 else { return nil }
        self.executableDigest = ""
        self.policyDigest = ""
        self.measurement = Hex.encode(bytes)
    }

    /// Whether the measurement was set directly rather than composed from the executable and policy digests.
    public var isDirect: Bool { executableDigest.isEmpty && policyDigest.isEmpty }

    /// SHA-384 over the decoded executable digest followed by the decoded policy digest, as hex.
    public static func combine(executableDigest: String, policyDigest: String) -> String {
        var input = Hex.decode(executableDigest) ?? Data(executableDigest.utf8)
        input.append(Hex.decode(policyDigest) ?? Data(policyDigest.utf8))
        return Hex.encode(SHA384.hash(data: input))
    }

    private static let cache = Mutex<[String: String]>([:])

    /// Hex SHA-384 of a file, streamed; cached per path for the life of the process.
    /// - Throws: ``AttestationError`` when the file cannot be read.
    public static func executableDigest(path: String) throws -> String {
        if let cached = cache.withLock({ $0[path] }) { return cached }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw AttestationError(.measurementUnavailable, "cannot read executable at \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA384()
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        let digest = Hex.encode(hasher.finalize())
        cache.withLock { $0[path] = digest }
        return digest
    }

    /// The path of the running executable (`/proc/self/exe` on Linux).
    public static var runningExecutablePath: String {
        #if os(Linux)
        return "/proc/self/exe"
        #else
        return CommandLine.arguments.first ?? ""
        #endif
    }
}
