/// The release-policy module's error: a policy file or document that does not validate.
///
/// Every problem names the JSON path it was found at, e.g. `$.rule.allOf[2]: unknown operator 'gt'`, so one
/// run reports all of them. A denied release is not an error; it is a ``PolicyDecision``.
public struct ReleasePolicyError: Error, Sendable, CustomStringConvertible {
    /// Every problem found, each `<json path>: <message>`, in document order.
    public let problems: [String]

    /// Creates an error from its problems.
    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String {
        problems.count == 1 ? "invalid release policy: \(problems[0])"
            : "invalid release policy (\(problems.count) problems):\n" + problems.map { "  " + $0 }.joined(separator: "\n")
    }
}
