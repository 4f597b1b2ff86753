/// Tenant dictionary terms (project code names, customer names, internal hosts), matched case-insensitively as
/// whole words in one Aho–Corasick pass (linear in the text plus the matches). Overlapping terms: the leftmost,
/// then longest, wins. Terms may contain spaces and punctuation; case folding is simple (one scalar to one scalar).
public struct CustomDictionaryDetector: Detector {
    public let label: String
    public let priority: Int

    struct Node: Sendable {
        var next: [UInt32: Int32] = [:]
        var fail: Int32 = 0
        /// Lengths of the terms that end here (including through failure links).
        var lengths: [Int32] = []
    }
    let nodes: [Node]

    /// A detector of `terms` (empty and whitespace-only terms are ignored) labelled `label`.
    /// - Parameter priority: overlap priority against other detectors (default 60: above names and dates).
    public init(label: String, terms: [String], priority: Int = 60) {
        self.label = label
        self.priority = priority
        var nodes = [Node()]
        for term in terms {
            // Folded as the text is before detection (`FoldedText`: a term with an en dash or a no-break space
            // matches the text's folded form), then case-folded.
            let scalars = term.unicodeScalars.compactMap { FoldedText.fold($0) ?? nil }.map(Self.fold)
            guard scalars.contains(where: { !isSpace(Unicode.Scalar($0) ?? " ") }) else { continue }
            var at = 0
            for s in scalars {
                if let n = nodes[at].next[s] {
                    at = Int(n)
                } else {
                    nodes.append(Node())
                    nodes[at].next[s] = Int32(nodes.count - 1)
                    at = nodes.count - 1
                }
            }
            if !nodes[at].lengths.contains(Int32(scalars.count)) { nodes[at].lengths.append(Int32(scalars.count)) }
        }
        // Breadth-first failure links.
        var queue: [Int] = []
        for (_, child) in nodes[0].next { queue.append(Int(child)) }
        var head = 0
        while head < queue.count {
            let u = queue[head]
            head += 1
            for (s, child) in nodes[u].next {
                let v = Int(child)
                var f = Int(nodes[u].fail)
                while f != 0, nodes[f].next[s] == nil { f = Int(nodes[f].fail) }
                let target = nodes[f].next[s].map(Int.init) ?? 0
                nodes[v].fail = Int32(target == v ? 0 : target)
                nodes[v].lengths += nodes[Int(nodes[v].fail)].lengths
                queue.append(v)
            }
        }
        self.nodes = nodes
    }

    @inline(__always) static func fold(_ s: Unicode.Scalar) -> UInt32 {
        if s.value < 128 { return lowerASCII(s) }
        let lower = s.properties.lowercaseMapping.unicodeScalars
        return lower.count == 1 ? (lower.first?.value ?? s.value) : s.value
    }

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        guard nodes.count > 1 else { return [] }
        var candidates: [(start: Int, end: Int)] = []
        var at = 0
        for i in 0..<t.count {
            let s = Self.fold(t[i])
            while at != 0, nodes[at].next[s] == nil { at = Int(nodes[at].fail) }
            at = nodes[at].next[s].map(Int.init) ?? 0
            for length in nodes[at].lengths {
                let start = i + 1 - Int(length)
                // Whole words: no word scalar glued to a word-scalar edge of the match.
                if isWordScalar(t[start]), !leftBoundary(t, start) { continue }
                if isWordScalar(t[i]), !rightBoundary(t, i + 1) { continue }
                candidates.append((start, i + 1))
            }
        }
        candidates.sort { $0.start != $1.start ? $0.start < $1.start : $0.end > $1.end }
        var spans: [DetectedSpan] = []
        var lastEnd = 0
        for c in candidates where c.start >= lastEnd {
            spans.append(DetectedSpan(start: c.start, end: c.end, label: label))
            lastEnd = c.end
        }
        return spans
    }
}

/// Why a `PatternDetector` pattern did not compile.
public struct PatternError: Error, Equatable, CustomStringConvertible {
    /// The pattern as given.
    public let pattern: String
    /// What is wrong with it.
    public let reason: String
    public var description: String { "invalid redaction pattern \"\(pattern)\": \(reason)" }
}

/// Tenant patterns in a tiny linear-time language:
/// - a literal scalar matches itself; `\` escapes any of `\ . [ ] { } ? + *` and space;
/// - classes: `\d` digit, `\w` letter/digit/`_`, `\s` whitespace, `\l` letter, `\u` upper-case letter,
///   `\x` hex digit, `.` any scalar but a newline, `[...]` a set of scalars and ranges (`[A-Z0-9_-]`),
///   `[^...]` its complement;
/// - repeats after an item: `?` (0–1), `+` (1–256), `*` (0–256), `{n}`, `{n,m}` (m ≤ 256).
///
/// Repeats are possessive: they take as many scalars as they can and never give back, so matching is one
/// left-to-right pass per start position, O(text × longest match). Write patterns whose consecutive items do not
/// overlap: `[A-Z]{3}-\d{6}` works; `\w+\d` never matches. Matches of word scalars must stand as whole words.
/// Example: `PatternDetector(label: "TICKET", pattern: "[A-Z]{2,5}-\\d{3,8}")`.
public struct PatternDetector: Detector {
    public let label: String
    public let priority: Int

    enum Class: Sendable {
        case scalar(Unicode.Scalar), digit, word, space, letter, upper, hex, any
        case set([ClosedRange<UInt32>], negated: Bool)

        @inline(__always) func matches(_ s: Unicode.Scalar) -> Bool {
            switch self {
            case .scalar(let c): return s == c
            case .digit: return isDigit(s)
            case .word: return isWordScalar(s) || s == "_"
            case .space: return isSpace(s)
            case .letter: return s.value < 128 ? isASCIIAlpha(s) : s.properties.isAlphabetic
            case .upper: return s.value < 128 ? isUpper(s) : s.properties.isUppercase
            case .hex: return isHex(s)
            case .any: return s != "\n"
            case .set(let ranges, let negated): return ranges.contains { $0.contains(s.value) } != negated
            }
        }

        /// As the text is folded before detection (`FoldedText`): a literal `：` or `–` matches its folded `:` or `-`,
        /// and a set also takes the folded forms of its members (`[０-９]` then matches `0`–`9`).
        var folded: Class {
            switch self {
            case .scalar(let c):
                guard let mapped = FoldedText.fold(c), let scalar = mapped else { return self }
                return .scalar(scalar)
            case .set(let ranges, let negated):
                var all = ranges
                for range in ranges {
                    guard let lo = Unicode.Scalar(range.lowerBound), let hi = Unicode.Scalar(range.upperBound),
                        let foldedLo = FoldedText.fold(lo) ?? nil, let foldedHi = FoldedText.fold(hi) ?? nil,
                        foldedLo != lo || foldedHi != hi, foldedLo.value <= foldedHi.value
                    else { continue }
                    all.append(foldedLo.value...foldedHi.value)
                }
                return .set(all, negated: negated)
            default: return self
            }
        }
    }
    struct Item: Sendable {
        let what: Class
        let min: Int
        let max: Int
    }
    let items: [Item]
    /// The longest possible match.
    let maxLength: Int

    /// Compiles `pattern`; throws a `PatternError` naming the pattern if it is malformed or can match nothing but
    /// the empty string.
    public init(label: String, pattern: String, priority: Int = 60) throws {
        self.label = label
        self.priority = priority
        let p = Array(pattern.unicodeScalars)
        func fail(_ reason: String) -> PatternError { PatternError(pattern: pattern, reason: reason) }
        var items: [Item] = []
        var i = 0
        while i < p.count {
            let s = p[i]
            var what: Class
            switch s {
            case "\\":
                guard i + 1 < p.count else { throw fail("dangling \\ at the end") }
                let e = p[i + 1]
                switch e {
                case "d": what = .digit
                case "w": what = .word
                case "s": what = .space
                case "l": what = .letter
                case "u": what = .upper
                case "x": what = .hex
                case "\\", ".", "[", "]", "{", "}", "?", "+", "*", " ", "-", "^", "/", ":", "@", "#": what = .scalar(e)
                default: throw fail("unknown escape \\\(e) at offset \(i)")
                }
                i += 2
            case ".":
                what = .any
                i += 1
            case "[":
                var j = i + 1
                var negated = false
                if j < p.count, p[j] == "^" {
                    negated = true
                    j += 1
                }
                var ranges: [ClosedRange<UInt32>] = []
                while j < p.count, p[j] != "]" {
                    var lo = p[j]
                    if lo == "\\" {
                        guard j + 1 < p.count else { throw fail("dangling \\ in a set") }
                        j += 1
                        lo = p[j]
                    }
                    if j + 2 < p.count, p[j + 1] == "-", p[j + 2] != "]" {
                        let hi = p[j + 2]
                        guard lo.value <= hi.value else { throw fail("empty range \(lo)-\(hi) in a set") }
                        ranges.append(lo.value...hi.value)
                        j += 3
                    } else {
                        ranges.append(lo.value...lo.value)
                        j += 1
                    }
                }
                guard j < p.count else { throw fail("unterminated [ at offset \(i)") }
                guard !ranges.isEmpty else { throw fail("empty set at offset \(i)") }
                what = .set(ranges, negated: negated)
                i = j + 1
            case "]", "}":
                throw fail("unbalanced \(s) at offset \(i)")
            case "?", "+", "*", "{":
                throw fail("repeat \(s) at offset \(i) has nothing to repeat")
            default:
                what = .scalar(s)
                i += 1
            }
            var lo = 1
            var hi = 1
            if i < p.count {
                switch p[i] {
                case "?": (lo, hi, i) = (0, 1, i + 1)
                case "+": (lo, hi, i) = (1, 256, i + 1)
                case "*": (lo, hi, i) = (0, 256, i + 1)
                case "{":
                    guard let close = p[i...].firstIndex(of: "}") else { throw fail("unterminated { at offset \(i)") }
                    let body = String(String.UnicodeScalarView(p[(i + 1)..<close]))
                    let parts = body.split(separator: ",", omittingEmptySubsequences: false)
                    guard parts.count <= 2, let a = Int(parts[0]), let b = parts.count == 2 ? Int(parts[1]) : a else {
                        throw fail("bad repeat {\(body)}")
                    }
                    guard a >= 0, a <= b, b <= 256, b > 0 else { throw fail("repeat {\(body)} out of range (0 ≤ n ≤ m ≤ 256)") }
                    (lo, hi, i) = (a, b, close + 1)
                default: break
                }
            }
            items.append(Item(what: what.folded, min: lo, max: hi))
        }
        guard !items.isEmpty else { throw fail("empty pattern") }
        guard items.contains(where: { $0.min > 0 }) else { throw fail("matches the empty string") }
        self.items = items
        self.maxLength = items.reduce(0) { $0 + $1.max }
    }

    /// The end of a match at `i`, or nil.
    @inline(__always) func match(_ t: [Unicode.Scalar], _ i: Int) -> Int? {
        var j = i
        for item in items {
            var count = 0
            while count < item.max, j < t.count, item.what.matches(t[j]) {
                count += 1
                j += 1
            }
            if count < item.min { return nil }
        }
        return j
    }

    /// For streaming: a pattern whose matches may be longer than 32 scalars holds a run of 32 or more non-space
    /// scalars touching the end, up to its longest match, so that a stream never emits the front of a match still
    /// arriving (a stream cuts inside a long word otherwise).
    public func unfinishedMatchStart(in t: [Unicode.Scalar]) -> Int? {
        guard maxLength > 32 else { return nil }
        var j = t.count
        while j > 0, t.count - j < maxLength, !isSpace(t[j - 1]) { j -= 1 }
        return t.count - j >= 32 && t.count - j < maxLength ? j : nil
    }

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var i = 0
        while i < t.count {
            if isWordScalar(t[i]), !leftBoundary(t, i) {
                i += 1
                continue
            }
            if let end = match(t, i), end > i, !(isWordScalar(t[end - 1]) && !rightBoundary(t, end)) {
                spans.append(DetectedSpan(start: i, end: end, label: label))
                i = end
            } else {
                i += 1
            }
        }
        return spans
    }
}
