/// What a field name says its values are: the context that lets a detector accept a value whose shape alone is
/// ambiguous (nine bare digits, a phone number without separators, a compact date).
enum FieldKind: Sendable, Equatable {
    /// A US social security number (`ssn`, `social security no.`, `soc sec #`).
    case ssn
    /// A US taxpayer identification number (`taxpayer_id`, `tin`, `itin`): an SSN, or an ITIN (area 9xx).
    case taxpayerID
    /// A telephone number (`phone`, `tel`, `mobile`, `cell`, `fax`).
    case phone
    /// A date of birth (`dob`, `date of birth`, `birth_date`).
    case birthDate
}

/// Field names in their structural places: labels before a value (`SSN: …`, `ssn=…`, `"ssn": "…"`, `ssn: …` in
/// YAML, `Social Security No. …`, `<ssn>…`, a lone `SSN:` line above the value) and, through `DelimitedTables`,
/// the column headers of delimited text. A name is read as words (split at spaces, `_`, `-`, `.` and camelCase,
/// lower-cased, letters only), trailing designators and filler words are skipped (`number`, `no`, `is`, `on file`,
/// `home`, `primary`…), and the last remaining word — with the one before it for two-word names (`social security`,
/// `taxpayer id`, `birth date`) — decides the kind; failing that, the words before a parenthesised qualifier do
/// (`SSN (no dashes)`). Every scan is bounded (`maxKeyScalars` scalars back from a value).
enum FieldContext {
    /// How far back from a value a label is looked for.
    static let maxKeyScalars = 64
    /// The most filler scalars (`": "`, `" = "`, `"#: "`, a form's dot leaders `" ......: "`) between a label and its
    /// value.
    static let maxFiller = 32

    /// Words skipped at the end of a field name: designators, linking words and qualifiers.
    static let skipped = PersonDetector.hashes(
        "no nr nro num nbr number numbers nos is was as are be on in of to file record listed provided given reads the "
            + "now new "
            + "me us her him them at home work office primary secondary main alt alternate alternative personal "
            + "business direct day daytime evening night private emergency best preferred current full plain raw "
            + "clear unmasked value digits"
    )
    /// Verbs skipped only before `to` (`phone changed to …`), so that `mobile_updated_at` stays a timestamp.
    static let changes = PersonDetector.hashes("changed updated update set becomes became corrected")
    static let to = hash("to")

    /// Skipped words that make a bare name a designated one (`ss no`; `#` does too).
    static let designators = PersonDetector.hashes("no nr nro num nbr number numbers nos")

    /// Single words that name a kind, including run-together names (`phonenumber`, `socialsecurityno`).
    static let wordKinds: [UInt64: FieldKind] = {
        var map: [UInt64: FieldKind] = [:]
        func add(_ list: String, _ kind: FieldKind, designated: Bool) {
            for word in list.split(separator: " ") {
                var forms = [String(word)]
                if designated { forms += ["no", "nr", "num", "nbr", "number"].map { String(word) + $0 } }
                for form in forms { map[hash(form)] = kind }
            }
        }
        add("ssn ssns socialsecurity socsec", .ssn, designated: true)
        add("tin itin taxpayerid taxid", .taxpayerID, designated: true)
        add(
            "phone phones telephone tel tele mobile mob cell cellphone cellular fax facsimile msisdn landline ph phn "
                + "contact whatsapp sms homephone workphone mobilephone officephone dayphone call callback dial reach "
                + "text ring",
            .phone, designated: true)
        add("dob birthdate birthday born birth dateofbirth", .birthDate, designated: false)
        return map
    }()

    /// Two-word names (earlier word, last word).
    static let pairs: [UInt64: FieldKind] = {
        var map: [UInt64: FieldKind] = [:]
        let list: [(String, String, FieldKind)] = [
            ("social", "security", .ssn), ("soc", "sec", .ssn), ("social", "sec", .ssn), ("soc", "security", .ssn),
            ("taxpayer", "id", .taxpayerID), ("taxpayer", "identification", .taxpayerID),
            ("tax", "id", .taxpayerID), ("tax", "identification", .taxpayerID),
            ("birth", "date", .birthDate), ("birth", "day", .birthDate),
        ]
        for (a, b, kind) in list { map[pairKey(hash(a), hash(b))] = kind }
        return map
    }()

    /// Words that name a kind only with a designator after them (`SS #`, `ss no`).
    static let designatedOnly: [UInt64: FieldKind] = [hash("ss"): .ssn]

    static func hash(_ word: String) -> UInt64 {
        let scalars = Array(word.unicodeScalars)
        return PersonDetector.hash(scalars, 0, scalars.count)
    }

    @inline(__always) static func pairKey(_ a: UInt64, _ b: UInt64) -> UInt64 { a &* 31 ^ b }

    /// Scalars that may stand between a label and its value.
    @inline(__always) static func isFiller(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case " ", "\t", "\r", ":", "=", "\"", "'", "#", ">", "|", ",", "[", "]", "(", ")", "{", "-", "*", "_", ".", "`",
            ";":
            return true
        default:
            return s.value == 0xA0
        }
    }

    /// Scalars that join the words of one field name (`Phone (home)` is `phone home`; `#` designates).
    @inline(__always) static func isJoiner(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "_" || s == "-" || s == "." || s == "(" || s == ")" || s == "#"
    }

    /// The kind named by a label right before the value starting at `v`, or `nil`.
    ///
    /// The label ends at most `maxFiller` filler scalars before `v` on the same line, or is alone on the line above
    /// (a form with the value under its label); in markup, it is the text before the value's tags or the field name of
    /// the tag whose `value` attribute it is (`markupKind`).
    static func labelKind(before v: Int, in t: [Unicode.Scalar]) -> FieldKind? {
        plainLabelKind(before: v, in: t) ?? markupKind(before: v, in: t)
    }

    /// A label in text right before the value at `v` (`labelKind` without markup).
    static func plainLabelKind(before v: Int, in t: [Unicode.Scalar]) -> FieldKind? {
        let floor = max(0, v - maxKeyScalars)
        var k = v
        var newline = false
        var designated = false
        while k > floor, v - k <= maxFiller {
            let s = t[k - 1]
            if s == "\n", !newline {
                newline = true
            } else if !isFiller(s) {
                break
            }
            if s == "#" { designated = true }
            k -= 1
        }
        guard k > floor, k < v, isASCIIAlnum(t[k - 1]) else { return nil }
        guard let (kind, start) = keyKind(t, end: k, floor: floor, designated: designated) else { return nil }
        if newline {
            // A label on the line above must be alone there (after list or heading marks).
            var j = start
            while j > 0, t[j - 1] != "\n" {
                if isWordScalar(t[j - 1]) { return nil }
                j -= 1
            }
        }
        return kind
    }

    /// The kind named by the field name ending at `end` (after trailing filler), reading back no further than
    /// `floor`; returns it with the start of the words read.
    static func keyKind(_ t: [Unicode.Scalar], end: Int, floor: Int, designated: Bool = false) -> (FieldKind, Int)? {
        var k = end
        var designated = designated
        while k > floor, isFiller(t[k - 1]) {
            if t[k - 1] == "#" { designated = true }
            k -= 1
        }
        // Up to six words, last first; single letters at the end (`D.O.B.`, `S.S.N.`) are also read as one word.
        var words: [UInt64] = []
        var letters: [Unicode.Scalar] = []
        var spelling = true
        var numbered = false
        // Words before a parenthesised qualifier (`SSN (no dashes)`, `DOB (YYYYMMDD)`) name the field too.
        var beforeParen = -1
        var start = k
        while words.count < 6, k > floor, isASCIIAlnum(t[k - 1]) {
            let wordStart = wordStart(t, end: k, floor: floor)
            if !t[wordStart..<k].contains(where: isASCIIAlpha) {
                // Numbers are not names (`12 518403127`), but a name may be numbered (`Phone 2`) once.
                guard words.isEmpty else { break }
                guard !numbered, k - wordStart <= 2 else { return nil }
                numbered = true
            } else {
                words.append(PersonDetector.hash(t, wordStart, k))
                if spelling, k - wordStart == 1 { letters.append(t[wordStart]) } else { spelling = false }
            }
            start = wordStart
            k = wordStart
            if k > floor, isASCIIAlnum(t[k - 1]) { continue }
            // Up to three joiners between words (`Soc. Sec.`, `tax - id`, `soc sec # is`).
            var j = k
            while j > floor, k - j < 3, isJoiner(t[j - 1]) {
                if t[j - 1] == "#" { designated = true }
                if t[j - 1] == "(", beforeParen < 0 { beforeParen = words.count }
                j -= 1
            }
            guard j < k, j > floor, isASCIIAlnum(t[j - 1]) else { break }
            k = j
        }
        if letters.count >= 2 {
            let spelled = Array(letters.reversed())
            if let kind = wordKinds[PersonDetector.hash(spelled, 0, spelled.count)] { return (kind, start) }
        }
        if let kind = classify(words, designated: designated) { return (kind, start) }
        guard beforeParen > 0, beforeParen < words.count else { return nil }
        return classify(Array(words[beforeParen...]), designated: designated).map { ($0, start) }
    }

    /// The start of the last word of the alphanumeric run ending at `end`: camelCase and `ABCWord` boundaries split it
    /// (`socialSecurity`, `SSNNumber`), a plural `s` does not (`SSNs`).
    static func wordStart(_ t: [Unicode.Scalar], end: Int, floor: Int) -> Int {
        var j = end - 1
        while j > floor, isASCIIAlnum(t[j - 1]) {
            let a = t[j - 1]
            let b = t[j]
            if isLower(a) && isUpper(b) { break }
            // `SSNNumber` is `SSN Number`; `SSNs` stays one word.
            if isUpper(a) && isUpper(b) && j + 2 < end && isLower(t[j + 1]) && isLower(t[j + 2]) { break }
            j -= 1
        }
        return j
    }

    /// The kind of a field name given as words, last first.
    static func classify(_ words: [UInt64], designated: Bool) -> FieldKind? {
        var designated = designated
        var n = 0
        while n < words.count, n < 4,
            skipped.contains(words[n]) || (n > 0 && words[n - 1] == to && changes.contains(words[n]))
        {
            if designators.contains(words[n]) { designated = true }
            n += 1
        }
        guard n < words.count else { return nil }
        let head = words[n]
        if n + 1 < words.count, let kind = pairs[pairKey(words[n + 1], head)] { return kind }
        if let kind = wordKinds[head] { return kind }
        if designated, let kind = designatedOnly[head] { return kind }
        return nil
    }
}
