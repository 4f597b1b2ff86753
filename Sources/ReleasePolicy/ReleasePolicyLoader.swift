import Foundation

/// Reads release policies from JSON, validating strictly.
public enum ReleasePolicyLoader {
    /// The largest policy file accepted.
    public static let maxBytes = 1 << 20

    /// Decodes one policy object, an array of policies, or `{"policies": [...]}`.
    ///
    /// Validation is strict and reports every problem with its JSON path (`$`, `$[1]` or `$.policies[1]` for
    /// the policies): unknown keys, fields and operators, conditions with zero or two operators, empty `allOf` /
    /// `anyOf` / `in`, nesting deeper than 32, more than 1000 nodes in a policy, malformed ids, names and reason
    /// codes, duplicate node names within a policy and duplicate policy ids.
    ///
    /// - Throws: ``ReleasePolicyError`` listing every problem.
    public static func decode(_ data: Data) throws -> [ReleasePolicyDocument] {
        guard data.count <= maxBytes else { throw ReleasePolicyError(problems: ["$: policy file larger than \(maxBytes) bytes"]) }
        let json: JSONValue
        do { json = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw ReleasePolicyError(problems: ["$: not valid JSON"])
        }
        var items: [(JSONValue, String)]
        switch json {
        case .array(let array):
            items = array.enumerated().map { ($1, "$[\($0)]") }
        case .object(let members) where members["policies"] != nil:
            guard members.count == 1, case .array(let array)? = members["policies"] else {
                let problem = members.count == 1 ? "$.policies: expected a list of policies" : "$: a policy list object has only the key 'policies'"
                throw ReleasePolicyError(problems: [problem])
            }
            items = array.enumerated().map { ($1, "$.policies[\($0)]") }
        case .object:
            items = [(json, "$")]
        default:
            throw ReleasePolicyError(problems: ["$: expected a policy, a list of policies or {\"policies\": [...]}, found \(json.typeName)"])
        }
        var parser = PolicyParser()
        var documents: [ReleasePolicyDocument] = []
        var ids: [String: String] = [:]
        for (item, path) in items {
            guard let document = parser.document(item, path: path) else { continue }
            if let first = ids[document.id] {
                parser.problem(PolicyParser.member(path, "id"), "duplicate policy id '\(document.id)' (first at \(first))")
            } else {
                ids[document.id] = path
            }
            documents.append(document)
        }
        guard parser.problems.isEmpty else { throw ReleasePolicyError(problems: parser.problems) }
        return documents
    }
}
