import Foundation

/// The shared real-hardware vectors (`../shared/vectors` beside the repository; `SEALGATE_VECTORS` overrides).
/// Harnesses read samples through their `manifest.json` (files, `as_of`) at start-up; nothing is copied into the repo.
public struct Vectors: Sendable {
    /// The vectors directory, when it exists.
    public let root: URL?

    public init() {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [
            environment["SEALGATE_VECTORS"], "../shared/vectors", "../../shared/vectors", "../../../shared/vectors",
        ]
        root = candidates.compactMap { $0 }.map { URL(fileURLWithPath: $0, isDirectory: true).standardizedFileURL }
            .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("README.md").path) }
    }

    /// One sample folder: its manifest and files.
    public struct Sample: Sendable {
        public let name: String
        public let directory: URL
        /// `files` and `collateral` of the manifest, name → path relative to `directory`.
        public let files: [String: String]
        public let asOf: Date

        /// The bytes of a manifest file (`files` or `collateral` key), if present.
        public func data(_ key: String) -> Data? {
            guard let path = files[key] else { return nil }
            return FileManager.default.contents(atPath: directory.appendingPathComponent(path).standardizedFileURL.path)
        }

        /// The text of a manifest file.
        public func text(_ key: String) -> String? { data(key).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Every sample under `kind` (`sev-snp`, `tdx`, `nitro`, …) whose manifest reads, sorted by name.
    public func samples(_ kind: String) -> [Sample] {
        guard let root else { return [] }
        let folder = root.appendingPathComponent(kind, isDirectory: true)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().compactMap { name in
            let directory = folder.appendingPathComponent(name, isDirectory: true)
            guard
                let data = FileManager.default.contents(atPath: directory.appendingPathComponent("manifest.json").path),
                let manifest = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let asOfText = manifest["as_of"] as? String, let asOf = Self.date(asOfText)
            else { return nil }
            var files: [String: String] = [:]
            for key in ["files", "collateral"] {
                for (name, value) in manifest[key] as? [String: Any] ?? [:] {
                    if let path = value as? String { files[name] = path }
                }
            }
            return Sample(name: name, directory: directory, files: files, asOf: asOf)
        }
    }

    /// A file relative to the vectors root.
    public func data(_ path: String) -> Data? {
        root.flatMap { FileManager.default.contents(atPath: $0.appendingPathComponent(path).path) }
    }

    /// RFC 3339 with or without fractional seconds.
    public static func date(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    /// PEM text of DER bytes (64-column base64 body).
    public static func pem(_ der: Data, label: String = "CERTIFICATE") -> String {
        let body = der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----\n"
    }

    /// The length of the common prefix of two byte strings (to pick the sample an input was mutated from).
    public static func commonPrefix(_ a: Data, _ b: Data) -> Int {
        var n = 0
        for (x, y) in zip(a, b) {
            guard x == y else { break }
            n += 1
        }
        return n
    }
}
