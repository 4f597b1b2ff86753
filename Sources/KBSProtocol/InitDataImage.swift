import Foundation

extension InitData {
    /// The init-data document's `image_digest`: a top-level key, or one in its `data` table (CoCo init-data keeps its
    /// documents under `[data]`). JSON: `{"image_digest": "sha256:…"}` or `{"data": {"image_digest": …}}`; TOML: a
    /// line `image_digest = "sha256:…"` before any table header or under `[data]`. `nil` when absent.
    /// - Throws: a ``ReleaseDecision`` denial (`malformed_request`, its rule naming the problem: `init-data.format`,
    ///   `init-data.body.json`, `init-data.body.toml`, `init-data.image_digest.duplicate`, `.type`) when the document
    ///   is not of its format, names the key twice, or its value is not a string.
    public func imageDigest() throws -> String? {
        switch format {
        case "json": return try Self.jsonImageDigest(body)
        case "toml": return try Self.tomlImageDigest(body)
        default: throw Self.refusal("init-data.format")
        }
    }

    static let imageKey = "image_digest"

    static func refusal(_ rule: String) -> ReleaseDecision {
        ReleaseDecision(allowed: false, reason: .malformedRequest, rule: rule, result: nil)
    }

    static func jsonImageDigest(_ body: String) throws -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw refusal("init-data.body.json")
        }
        let nested = (object["data"] as? [String: Any])?[imageKey]
        let values = [object[imageKey], nested].compactMap { $0 }
        guard values.count <= 1 else { throw refusal("init-data.image_digest.duplicate") }
        guard let value = values.first else { return nil }
        guard let text = value as? String else { throw refusal("init-data.image_digest.type") }
        return text
    }

    /// A line-oriented reading of the few TOML forms init-data uses for this key: `image_digest = "…"` (basic or
    /// literal string) at top level or in `[data]`; multi-line strings of other keys are skipped.
    static func tomlImageDigest(_ body: String) throws -> String? {
        var table = ""
        var found: [String] = []
        var openMultiline: String?
        for raw in body.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if let delimiter = openMultiline {
                if line.contains(delimiter) { openMultiline = nil }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                table = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw refusal("init-data.body.toml") }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            for delimiter in ["'''", "\"\"\""] where value.hasPrefix(delimiter) {
                if !value.dropFirst(3).contains(delimiter) { openMultiline = delimiter }
            }
            guard key == imageKey, table.isEmpty || table == "data" else { continue }
            guard value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first else {
                throw refusal("init-data.image_digest.type")
            }
            found.append(String(value.dropFirst().dropLast()))
        }
        guard openMultiline == nil else { throw refusal("init-data.body.toml") }
        guard found.count <= 1 else { throw refusal("init-data.image_digest.duplicate") }
        return found.first
    }
}

