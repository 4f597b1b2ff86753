/// Person names, from compact dictionaries plus context. A capitalised word (`Anna`, `O'Brien`, `McKay`) is a name
/// token; a span is one to three name tokens (a middle initial `J.` may sit between them) and is reported when
/// - it starts with a dictionary given name and has a second token (`Lauren Klein`; an ambiguous given name such as
///   `Will`, `May`, `Grant` needs a dictionary surname after it), or
/// - it follows a title (`Mr`, `Ms`, `Dr`, `Prof`…), a greeting (`Dear`, `Hello`, `Hi`…), a name field
///   (`Name:`, `From:`, `To:`, `Patient:`, `Contact:`…) or a phrase like `signed by` / `name is`, or
/// - it is a lone unambiguous dictionary given name, or a dictionary name alone on its line (a signature).
///
/// Limits, stated honestly: recall depends on the few-hundred-name dictionaries and on English context cues;
/// names in lower case, all capitals, non-Latin scripts, or without context and outside the dictionaries are
/// missed; capitalised words after a context cue (`Dear Customer Service`) may be flagged unless listed as
/// stopwords; given names that are common words are not flagged on their own.
public struct PersonDetector: Detector {
    public let label = "PERSON"
    public let priority = 20
    public init() {}

    static let first = hashes(NameLists.firstNames)
    static let surnames = hashes(NameLists.surnames)
    static let ambiguous = hashes(NameLists.ambiguous)
    static let stop = hashes(NameLists.stopwords)
    static let titles = hashes("mr mrs ms miss mx dr prof sir madam dame lady lord")
    static let greetings = hashes("dear hello hi hey thanks thank regards cheers greetings attn attention")
    static let fields = hashes(
        "name from to cc patient attending contact author owner maintainer signed employee customer agent physician "
            + "provider recipient sender reviewer assignee reporter user client member manager nurse doctor witness "
            + "by named physician therapist surgeon approver requester requestor applicant candidate tenant landlord")

    /// Words that introduce a name without a colon (`signed by X`, `Agent X`, `my patient X`).
    static let cues = hashes("by named agent patient owner maintainer physician nurse doctor colleague manager")

    static func hashes(_ list: String) -> HashSet64 {
        var set = Set<UInt64>()
        for word in list.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let scalars = Array(word.unicodeScalars)
            set.insert(hash(scalars, 0, scalars.count))
        }
        return HashSet64(set)
    }

    /// FNV-1a of the lower-cased ASCII letters of `t[from..<to]`.
    @inline(__always) static func hash(_ t: [Unicode.Scalar], _ from: Int, _ to: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for k in from..<to where isASCIIAlpha(t[k]) {
            h = (h ^ UInt64(lowerASCII(t[k]))) &* 0x100_0000_01b3
        }
        return h
    }

    /// The end of a name-shaped word at `i` (capital, then letters with inner `'` or `-`), or `nil`.
    @inline(__always) func nameWord(_ t: [Unicode.Scalar], _ i: Int) -> Int? {
        guard i < t.count, isUpper(t[i]) else { return nil }
        var j = i + 1
        var lower = 0
        while j < t.count {
            let s = t[j]
            if isASCIIAlpha(s) {
                if isLower(s) {
                    lower += 1
                } else if isLower(t[j - 1]), !(j - i == 2 && t[i] == "M" && t[i + 1] == "c"),
                    !(j - i == 3 && t[i] == "M" && t[i + 1] == "a" && t[i + 2] == "c") {
                    return nil  // camelCase identifiers (`TenantID`) are not names; `McKay`, `MacLeod` are.
                }
                j += 1
            } else if (s == "'" || s == "-" || s == "’"), j + 1 < t.count, isUpper(t[j + 1]) || (s == "-" && isLower(t[j + 1])) {
                j += 1
            } else {
                break
            }
        }
        guard lower > 0, j - i >= 2, j - i <= 24 else { return nil }
        if j < t.count {
            let s = t[j]
            if isWordScalar(s) || s == "@" || s == "_" { return nil }
            if (s == "." || s == "/"), j + 1 < t.count, isASCIIAlnum(t[j + 1]) { return nil }
        }
        return j
    }

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        let n = t.count
        var i = 0
        while i < n {
            i = skip(t, i) { $0 &- 65 < 26 }
            guard i < n else { break }
            guard isUpper(t[i]), leftBoundary(t, i) else {
                i += 1
                continue
            }
            if i > 0, t[i - 1] == "@" || t[i - 1] == "." || t[i - 1] == "/" || t[i - 1] == "_" || t[i - 1] == "-" {
                i += 1
                continue
            }
            guard let e = nameWord(t, i) else {
                while i < n, isWordScalar(t[i]) { i += 1 }
                continue
            }
            let h = Self.hash(t, i, e)
            if Self.stop.contains(h) || Self.titles.contains(h) || Self.greetings.contains(h) {
                i = e
                continue
            }
            let isFirst = Self.first.contains(h)
            let ambiguous = Self.ambiguous.contains(h)
            let context = hasContext(t, i)
            // Following name tokens.
            var end = e
            var tokens = 1
            var surnameSeen = false
            while tokens < 3, end + 1 < n, t[end] == " " {
                var k = end + 1
                if isUpper(t[k]), k + 2 < n, t[k + 1] == ".", t[k + 2] == " ", let e2 = nameWord(t, k + 3) {
                    k += 3  // Middle initial.
                    _ = e2
                }
                guard let e2 = nameWord(t, k) else { break }
                let h2 = Self.hash(t, k, e2)
                if Self.stop.contains(h2) || Self.titles.contains(h2) || Self.greetings.contains(h2) { break }
                let isSurname = Self.surnames.contains(h2)
                guard isSurname || (isFirst && !ambiguous) || context || Self.first.contains(h2) else { break }
                if tokens >= 2, !isSurname, !context { break }
                surnameSeen = surnameSeen || isSurname
                end = e2
                tokens += 1
            }
            var accept = false
            if tokens >= 2 {
                accept = context || (isFirst && (!ambiguous || surnameSeen)) || (surnameSeen && midSentence(t, i))
            } else {
                accept = context || (isFirst && !ambiguous) || ((isFirst || Self.surnames.contains(h)) && aloneOnLine(t, i, e))
            }
            if accept {
                spans.append(DetectedSpan(start: i, end: end, label: label))
                i = end
            } else {
                i = e
            }
        }
        return spans
    }

    /// Whether the word `t[i..<e]` is alone on its line (optionally followed by `,`): a signature or salutation.
    func aloneOnLine(_ t: [Unicode.Scalar], _ i: Int, _ e: Int) -> Bool {
        var k = i - 1
        while k >= 0, t[k] == " " || t[k] == "\t" { k -= 1 }
        guard k < 0 || t[k] == "\n" else { return false }
        var j = e
        if j < t.count, t[j] == "," { j += 1 }
        while j < t.count, t[j] == " " || t[j] == "\t" || t[j] == "\r" { j += 1 }
        return j >= t.count || t[j] == "\n"
    }

    /// A title, greeting, name field or cue phrase right before `i` on the same line.
    func hasContext(_ t: [Unicode.Scalar], _ i: Int) -> Bool {
        if afterClosing(t, i) { return true }
        var k = i - 1
        // Skip spaces and one `,` or `:` (`Dear Dr. X`, `From: X`, `Hi, X`).
        var sawColon = false
        while k >= 0, i - k < 8, t[k] == " " || t[k] == "\t" || t[k] == "," || t[k] == ":" || t[k] == "(" {
            if t[k] == ":" { sawColon = true }
            k -= 1
        }
        guard k >= 0, k < i - 1 || t[k] == "." else { return false }
        var hadDot = false
        if t[k] == "." {
            hadDot = true
            k -= 1
        }
        // The word before.
        let wordEnd = k + 1
        while k >= 0, wordEnd - k <= 16, isASCIIAlpha(t[k]) { k -= 1 }
        let wordStart = k + 1
        guard wordEnd > wordStart else { return false }
        let h = Self.hash(t, wordStart, wordEnd)
        if Self.titles.contains(h) { return true }
        if hadDot { return false }
        if Self.greetings.contains(h) { return true }
        if sawColon, Self.fields.contains(h) { return true }
        // Cue words in running text only (`my patient X`), not capitalised headings (`Patient Portal`).
        if !sawColon, isLower(t[wordStart]), Self.cues.contains(h) { return true }
        // `name is X`.
        if h == Self.isHash {
            var q = wordStart - 1
            while q >= 0, t[q] == " " { q -= 1 }
            let e2 = q + 1
            while q >= 0, e2 - q <= 8, isASCIIAlpha(t[q]) { q -= 1 }
            return Self.hash(t, q + 1, e2) == Self.nameHash
        }
        return false
    }

    /// Whether the word at `i` follows a lower-case word or a comma on its line (so its capital is not a sentence's).
    func midSentence(_ t: [Unicode.Scalar], _ i: Int) -> Bool {
        var k = i - 1
        while k >= 0, t[k] == " " { k -= 1 }
        return k >= 0 && k < i - 1 && (isLower(t[k]) || t[k] == ",")
    }

    /// Whether `i` starts a line right after a closing line (`Thanks,`, `Kind regards,`, `Sincerely,`).
    func afterClosing(_ t: [Unicode.Scalar], _ i: Int) -> Bool {
        var k = i - 1
        while k >= 0, t[k] == " " || t[k] == "\t" { k -= 1 }
        guard k >= 1, t[k] == "\n" else { return false }
        k -= 1
        if t[k] == "\r" { k -= 1 }
        guard k >= 0, t[k] == "," || t[k] == "!" else { return false }
        k -= 1
        let wordEnd = k + 1
        while k >= 0, wordEnd - k <= 12, isASCIIAlpha(t[k]) { k -= 1 }
        return Self.closings.contains(Self.hash(t, k + 1, wordEnd))
    }

    static let closings = hashes("thanks regards best sincerely cheers yours wishes cordially respectfully")
    static let byHash = hash(Array("by".unicodeScalars), 0, 2)
    static let namedHash = hash(Array("named".unicodeScalars), 0, 5)
    static let isHash = hash(Array("is".unicodeScalars), 0, 2)
    static let nameHash = hash(Array("name".unicodeScalars), 0, 4)
}
