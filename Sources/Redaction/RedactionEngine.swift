import SealgateCore

/// The redaction engine: detectors, overlap resolution, profiles and actions, over Unicode scalars.
///
/// All detectors run on every text; overlapping spans are resolved (higher priority, then longer, then earlier
/// wins) before the profile picks the labels it redacts, so that a profile without `IBAN` does not redact the
/// digits of an IBAN as a phone number. Work is linear in the input: each detector does bounded work per scalar.
///
/// Input is a Swift `String`, hence valid Unicode; callers holding raw bytes decode them lossily first
/// (`String(decoding:as:)` replaces invalid UTF-8 by U+FFFD).
public struct RedactionEngine: OutputRedactor {
    let detectors: [any Detector]
    let profiles: [String: RedactionProfile]
    /// Per profile, what a call needs, worked out once: its actions, the detectors that can change its result, and
    /// whether it redacts every label (so no span needs filtering).
    let plans: [String: Plan]
    /// The plan of an unknown profile: every label masked, every detector (fail closed).
    let unknownPlan: Plan
    let tokenizer: (any RedactionTokenizer)?
    /// Every label the detectors produce.
    let allLabels: Set<String>
    /// The most scalars a streaming session holds back when no long match (a PEM block) is in progress.
    public let holdback: Int

    /// The built-in detectors.
    public static let builtInDetectors: [any Detector] = [
        EmailDetector(), CardNumberDetector(), PhoneDetector(), IBANDetector(), SSNDetector(), IPAddressDetector(),
        URLDetector(), DateDetector(), SecretDetector(), PersonDetector(),
    ]

    /// The built-in profiles: `none`, `basic` (e-mail, cards, phones) and `all` (every label, masked).
    public static let builtInProfiles: [RedactionProfile] = [
        RedactionProfile(name: "none", labels: []),
        RedactionProfile(name: "basic", labels: ["EMAIL", "CREDIT_CARD", "PHONE"]),
        RedactionProfile(name: "all", labels: Set(builtInDetectors.map(\.label))),
    ]

    /// An engine over `detectors` with `profiles`.
    ///
    /// - Parameters:
    ///   - detectors: the detectors; defaults to the built-in ones.
    ///   - extraDetectors: tenant detectors added to `detectors` (`CustomDictionaryDetector`, `PatternDetector`).
    ///   - profiles: the profiles by name. The built-in `all` profile is widened to mask every label of the engine's
    ///     detectors, including the extra ones.
    ///   - tokenizer: the keyed digest for `RedactionAction.hashToken`; without one, that action masks.
    ///   - holdback: the streaming holdback in scalars (at least 16).
    public init(
        detectors: [any Detector] = RedactionEngine.builtInDetectors, extraDetectors: [any Detector] = [],
        profiles: [RedactionProfile] = RedactionEngine.builtInProfiles, tokenizer: (any RedactionTokenizer)? = nil,
        holdback: Int = 64
    ) {
        let all = detectors + extraDetectors
        self.detectors = all.sorted { $0.priority > $1.priority }
        self.allLabels = Set(all.map(\.label))
        let builtInAll = Self.builtInProfiles.last
        var map: [String: RedactionProfile] = [:]
        for profile in profiles {
            if profile.name == "all", profile == builtInAll {
                map["all"] = RedactionProfile(name: "all", labels: allLabels)
            } else {
                map[profile.name] = profile
            }
        }
        self.profiles = map
        let everything = Dictionary(uniqueKeysWithValues: allLabels.map { ($0, RedactionAction.mask) })
        let sorted = self.detectors
        let labels = allLabels
        func plan(_ actions: [String: RedactionAction]) -> Plan {
            Plan(
                actions: actions, detectors: Self.detectors(sorted, for: actions),
                redactsEverything: labels.allSatisfy { actions[$0] != nil })
        }
        self.plans = map.mapValues { plan($0.actions) }
        self.unknownPlan = plan(everything)
        self.tokenizer = tokenizer
        self.holdback = max(16, holdback)
    }

    /// An engine with the built-in detectors plus `extraDetectors`, and the built-in profiles plus `profiles`.
    public init(extraDetectors: [any Detector], profiles: [RedactionProfile] = [], tokenizer: (any RedactionTokenizer)? = nil) {
        self.init(
            detectors: Self.builtInDetectors, extraDetectors: extraDetectors, profiles: Self.builtInProfiles + profiles,
            tokenizer: tokenizer)
    }

    public func hasProfile(_ name: String) -> Bool { profiles[name] != nil }

    /// What redacting with one profile takes (see ``plans``).
    struct Plan: Sendable {
        let actions: [String: RedactionAction]
        let detectors: [any Detector]
        let redactsEverything: Bool
        /// Indices in `detectors` of those whose label the profile redacts.
        let own: [Int]

        init(actions: [String: RedactionAction], detectors: [any Detector], redactsEverything: Bool) {
            self.actions = actions
            self.detectors = detectors
            self.redactsEverything = redactsEverything
            self.own = detectors.indices.filter { actions[detectors[$0].label] != nil }
        }
    }

    /// The plan of a profile; an unknown profile masks every label (fail closed).
    func plan(for profile: String) -> Plan { plans[profile] ?? unknownPlan }

    /// The actions of a profile; an unknown profile masks every label (fail closed).
    func actions(for profile: String) -> [String: RedactionAction] { plan(for: profile).actions }

    /// The non-overlapping spans of a profile's labels, in order.
    public func spans(in scalars: [Unicode.Scalar], profile: String) -> [DetectedSpan] {
        spans(in: scalars, plan: plan(for: profile))
    }

    /// The non-overlapping spans of a plan's labels, in order.
    func spans(in scalars: [Unicode.Scalar], plan: Plan) -> [DetectedSpan] {
        guard !plan.actions.isEmpty else { return [] }
        let found = resolve(scalars, plan: plan)
        return plan.redactsEverything ? found : filter(found, plan.actions)
    }

    /// The spans of a plan's detectors with overlaps resolved (not filtered to the profile's labels), or none when
    /// the profile's own detectors find nothing: the other detectors only suppress the profile's spans, so then the
    /// result is empty whatever they find and they do not run (most texts have nothing a narrow profile redacts).
    func resolve(_ scalars: [Unicode.Scalar], plan: Plan) -> [DetectedSpan] {
        // Detection sees look-alike scalars folded to ASCII (`FoldedText`); the spans are the original text's.
        if let folded = FoldedText.fold(scalars) { return resolveFolded(folded.scalars, plan: plan).map(folded.original) }
        return resolveFolded(scalars, plan: plan)
    }

    func resolveFolded(_ scalars: [Unicode.Scalar], plan: Plan) -> [DetectedSpan] {
        if plan.redactsEverything { return resolve(scalars, detectors: plan.detectors) }
        var known = [[DetectedSpan]?](repeating: nil, count: plan.detectors.count)
        var candidates = false
        for k in plan.own {
            let spans = plan.detectors[k].detect(scalars)
            candidates = candidates || !spans.isEmpty
            known[k] = spans
        }
        guard candidates else { return [] }
        return resolve(scalars, detectors: plan.detectors, known: known)
    }

    /// The detectors whose spans can change a profile's result: those of its labels, and every detector of at
    /// least the lowest priority among them (a higher-priority span suppresses an overlapping one, an equal-priority
    /// one competes on length). Detectors below that priority and outside the profile cannot, and are skipped.
    static func detectors(_ detectors: [any Detector], for actions: [String: RedactionAction]) -> [any Detector] {
        guard let floor = detectors.filter({ actions[$0.label] != nil }).map(\.priority).min() else { return [] }
        return detectors.filter { actions[$0.label] != nil || $0.priority >= floor }
    }

    /// A text redacted with a profile, and the spans redacted (offsets in Unicode scalars of `text`): one detection
    /// pass for both.
    public func redactWithSpans(_ text: String, profile: String) -> (result: RedactionResult, spans: [DetectedSpan]) {
        let scalars = Self.scalars(of: text)
        let plan = plan(for: profile)
        let found = spans(in: scalars, plan: plan)
        return (apply(found, to: scalars[...], actions: plan.actions), found)
    }

    /// `scalars` redacted with a profile, its UTF-8 appended to `out`; returns the spans redacted (offsets in
    /// `scalars`).
    ///
    /// The text and spans of ``redactWithSpans(_:profile:)`` for the text of `scalars`, without a `String` to decode
    /// first, a `String` to build and validate after, or label counts: for callers that read scalars from their own
    /// input and write bytes (`sealgate redact` decodes JSON strings into scalars and writes JSON). Reusing `out` (and
    /// `scalars`) across calls saves their allocations.
    public func redact(_ scalars: [Unicode.Scalar], profile: String, appendingUTF8To out: inout [UInt8]) -> [DetectedSpan] {
        let plan = plan(for: profile)
        let found = spans(in: scalars, plan: plan)
        write(found, from: scalars[...], actions: plan.actions, to: &out)
        return found
    }

    /// The spans of `detectors` (sorted by descending priority) with overlaps resolved: higher priority, then
    /// longer, then earlier wins. Linear in the text plus the spans: a bitmap marks taken scalars (no quadratic
    /// interval insertion).
    /// `known[k]`, when given, holds what `detectors[k]` finds in `scalars` (already run).
    func resolve(_ scalars: [Unicode.Scalar], detectors: [any Detector], known: [[DetectedSpan]?] = []) -> [DetectedSpan] {
        guard !scalars.isEmpty else { return [] }
        var covered = [UInt64](repeating: 0, count: scalars.count / 64 + 1)
        var accepted: [DetectedSpan] = []
        var group: [DetectedSpan] = []
        var d = 0
        while d < detectors.count {
            // Detectors of equal priority compete on length, then position.
            let priority = detectors[d].priority
            group.removeAll(keepingCapacity: true)
            var members = 0
            while d < detectors.count, detectors[d].priority == priority {
                let found = d < known.count ? known[d] ?? detectors[d].detect(scalars) : detectors[d].detect(scalars)
                for span in found where span.start >= 0 && span.start < span.end && span.end <= scalars.count {
                    group.append(span)
                }
                d += 1
                members += 1
            }
            // One detector's spans do not compete with each other; several detectors' spans do.
            if members > 1 {
                group.sort {
                    let l0 = $0.end - $0.start
                    let l1 = $1.end - $1.start
                    return l0 != l1 ? l0 > l1 : $0.start < $1.start
                }
            }
            for span in group {
                var free = true
                for k in span.start..<span.end where covered[k >> 6] & (1 << UInt64(k & 63)) != 0 {
                    free = false
                    break
                }
                guard free else { continue }
                for k in span.start..<span.end { covered[k >> 6] |= 1 << UInt64(k & 63) }
                accepted.append(span)
            }
        }
        // Sort by start through integer keys (cheaper than moving spans with their label strings).
        var order = accepted.indices.map { (accepted[$0].start, $0) }
        order.sort { $0.0 < $1.0 }
        return order.map { accepted[$0.1] }
    }

    public func redact(_ text: String, profile: String) -> RedactionResult { redactWithSpans(text, profile: profile).result }

    /// Replaces each span per its action and counts labels.
    func apply(_ spans: [DetectedSpan], to scalars: ArraySlice<Unicode.Scalar>, actions: [String: RedactionAction]) -> RedactionResult {
        var out: [UInt8] = []
        out.reserveCapacity(scalars.count + 16)
        let (labels, labelCounts) = write(spans, from: scalars, actions: actions, to: &out)
        var counts: [String: Int] = [:]
        for (k, label) in labels.enumerated() { counts[label] = labelCounts[k] }
        return RedactionResult(text: String(decoding: out, as: UTF8.self), counts: counts)
    }

    /// Appends the UTF-8 of `scalars` with each span replaced per its action to `out`; returns the labels redacted
    /// (in order of first use) and the number of spans of each.
    @discardableResult
    func write(
        _ spans: [DetectedSpan], from scalars: ArraySlice<Unicode.Scalar>, actions: [String: RedactionAction],
        to out: inout [UInt8]
    ) -> (labels: [String], counts: [Int]) {
        // Labels are few: a linear table avoids hashing a String per span.
        var labels: [String] = []
        var counts: [Int] = []
        var labelActions: [RedactionAction] = []
        let base = scalars.startIndex
        var cursor = base
        for span in spans {
            var index = labels.firstIndex(of: span.label) ?? -1
            if index < 0 {
                labels.append(span.label)
                labelActions.append(actions[span.label] ?? .mask)
                counts.append(0)
                index = labels.count - 1
            }
            appendUTF8(scalars[cursor..<(base + span.start)], to: &out)
            appendReplacement(
                scalars[(base + span.start)..<(base + span.end)], label: span.label, action: labelActions[index], to: &out)
            counts[index] += 1
            cursor = base + span.end
        }
        appendUTF8(scalars[cursor...], to: &out)
        return (labels, counts)
    }

    /// The spans whose labels the profile redacts.
    func filter(_ spans: [DetectedSpan], _ actions: [String: RedactionAction]) -> [DetectedSpan] {
        var known: [String] = []
        var wanted: [Bool] = []
        return spans.filter { span in
            if let k = known.firstIndex(of: span.label) { return wanted[k] }
            known.append(span.label)
            wanted.append(actions[span.label] != nil)
            return wanted[wanted.count - 1]
        }
    }

    /// The Unicode scalars of `text`, decoded from its UTF-8 with an ASCII fast path.
    static func scalars(of text: String) -> [Unicode.Scalar] {
        var text = text
        return text.withUTF8 { bytes in
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(bytes.count)
            var i = 0
            let n = bytes.count
            while i < n {
                let b = bytes[i]
                if b < 0x80 {
                    out.append(Unicode.Scalar(b))
                    i += 1
                    continue
                }
                // Valid UTF-8 (a String's storage): decode a multi-byte sequence.
                var v: UInt32
                var len: Int
                if b >= 0xF0 { (v, len) = (UInt32(b & 0x07), 4) } else if b >= 0xE0 { (v, len) = (UInt32(b & 0x0F), 3) } else { (v, len) = (UInt32(b & 0x1F), 2) }
                for k in 1..<len where i + k < n { v = (v << 6) | UInt32(bytes[i + k] & 0x3F) }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                i += len
            }
            return out
        }
    }

    public func streaming(profile: String) -> any StreamingRedaction {
        StreamRedactor(engine: self, profile: profile)
    }
}
