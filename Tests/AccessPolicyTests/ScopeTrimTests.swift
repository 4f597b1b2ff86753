import AccessPolicy
import Foundation
import SealgateCore
import SealgateTestSupport
import Testing

/// The scope's names are trimmed by the policy as `trimmingCharacters(in: .whitespaces)` trims them: ASCII and
/// Unicode space separators (and the zero-width space, which Foundation's set holds) at either end go, anything else
/// (line breaks, the byte-order mark, combining marks, whitespace inside a name) stays and makes the name invalid.
@Suite("Access policy: scope names with whitespace")
struct ScopeTrimTests {
    typealias F = PolicyFixture

    /// The collections of an allowed decision, or nil for a refusal (which must be `scope_not_permitted`).
    static func decided(_ scope: [String]) -> [String]? {
        switch AccessPolicy(F.table()).decide(F.everything, F.query(scope: scope)) {
        case .allow(let grant, _): return grant.context.scope.collections.map(\.rawValue)
        case .deny(let denial):
            #expect(denial.reason == .scopeNotPermitted, "scope \(scope.map { Array($0.unicodeScalars) })")
            return nil
        }
    }

    /// What the policy decided before: each name trimmed by Foundation, all of them valid collection names.
    static func reference(_ scope: [String]) -> [String]? {
        var names: [CollectionName] = []
        for entry in scope {
            guard let name = CollectionName(entry.trimmingCharacters(in: .whitespaces)) else { return nil }
            names.append(name)
        }
        return RetrievalScope(collections: names).collections.map(\.rawValue)
    }

    @Test(
        "Messy whitespace, ASCII and not",
        arguments: [
            ([" \t notes\t ", "hr"], ["hr", "notes"] as [String]?),
            (["\u{3000}notes\u{00A0}", "\u{2003}hr\u{202F}\t"], ["hr", "notes"]),
            (["\u{1680}\u{205F}notes"], ["notes"]),
            (["notes\n"], nil),
            (["\r\nnotes"], nil),
            // Foundation's `CharacterSet.whitespaces` holds the zero-width space too: it is trimmed like the others.
            (["\u{200B}notes"], ["notes"]),
            (["notes\u{FEFF}"], nil),
            (["no tes"], nil),
            (["n\u{00E9}tes"], nil),
            (["\u{00A0}\u{301}notes"], nil),
            (["notes", " \t "], nil),
            (["handbook"], ["handbook"]),
        ])
    func messy(scope: [String], expected: [String]?) {
        #expect(Self.decided(scope) == expected)
        #expect(Self.reference(scope) == expected)
    }

    @Test("3,000 random scopes decide as Foundation's trim does")
    func differential() {
        // Space separators and tab (trimmed), and other invisible or odd scalars around names valid and not.
        let edges = [
            " ", "\t", "\u{00A0}", "\u{2000}", "\u{2009}", "\u{200A}", "\u{3000}", "\u{1680}", "\u{202F}", "\u{205F}", " ", "\t",
            "\u{200B}", "\n", "\r\n", "\u{000B}", "\u{0085}", "\u{2028}", "\u{FEFF}", "\u{301}", "😀",
        ]
        let cores = ["notes", "hr", "a-b", "x_1", "handbook", "n\u{E9}tes", "no tes", "A", "-x", "notes\u{301}", "e\u{301}"]
        var rng = SplitMix64(seed: 0x5CA1_AB1E)
        func edge() -> String { (0..<Int.random(in: 0...2, using: &rng)).map { _ in edges.randomElement(using: &rng) ?? "" }.joined() }
        var allowed = 0
        for _ in 0..<3_000 {
            let scope = (0..<Int.random(in: 1...2, using: &rng)).map { _ in edge() + (cores.randomElement(using: &rng) ?? "") + edge() }
            let expected = Self.reference(scope)
            if expected != nil { allowed += 1 }
            #expect(Self.decided(scope) == expected, "scope \(scope.map { Array($0.unicodeScalars) })")
        }
        // Both outcomes are drawn often enough for the comparison to mean something (about a tenth allowed).
        #expect(allowed > 150 && allowed < 2_850)
    }
}
