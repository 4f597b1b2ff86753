import SealgateCore

/// A named set of labels to redact; each span is replaced by `[LABEL]`.
public struct RedactionProfile: Sendable, Equatable {
    public let name: String
    public let labels: Set<String>

    public init(name: String, labels: Set<String>) {
        self.name = name
        self.labels = labels
    }
}

/// The redaction engine: detectors, overlap resolution and profiles, over Unicode scalars.
public struct RedactionEngine: OutputRedactor {
    let detectors: [any Detector]
    let profiles: [String: RedactionProfile]
    /// The most scalars a streaming session holds back.
    public let holdback: Int

    /// The built-in detectors.
    public static let builtInDetectors: [any Detector] = [EmailDetector(), CardNumberDetector(), PhoneDetector()]

    /// The built-in profiles: `none`, `basic` (e-mail, cards, phones) and `all` (every built-in label).
    public static let builtInProfiles: [RedactionProfile] = [
        RedactionProfile(name: "none", labels: []),
        RedactionProfile(name: "basic", labels: ["EMAIL", "CREDIT_CARD", "PHONE"]),
        RedactionProfile(name: "all", labels: Set(builtInDetectors.map(\.label))),
    ]

    public init(
        detectors: [any Detector] = RedactionEngine.builtInDetectors,
        profiles: [RedactionProfile] = RedactionEngine.builtInProfiles, holdback: Int = 64
    ) {
        self.detectors = detectors.sorted { $0.priority > $1.priority }
        var map: [String: RedactionProfile] = [:]
        for profile in profiles { map[profile.name] = profile }
        self.profiles = map
        self.holdback = max(16, holdback)
    }

    public func hasProfile(_ name: String) -> Bool { profiles[name] != nil }

    /// The non-overlapping spans of a profile's labels; higher-priority, then longer, spans win.
    public func spans(in scalars: [Unicode.Scalar], profile: String) -> [DetectedSpan] {
        // An unknown profile redacts everything rather than nothing: fail closed.
        let labels = profiles[profile]?.labels ?? Set(detectors.map(\.label))
        var taken: [DetectedSpan] = []
        for detector in detectors where labels.contains(detector.label) {
            for span in detector.detect(scalars) {
                if !taken.contains(where: { $0.start < span.end && span.start < $0.end }) { taken.append(span) }
            }
        }
        return taken.sorted { $0.start < $1.start }
    }

    public func redact(_ text: String, profile: String) -> RedactionResult {
        let scalars = Array(text.unicodeScalars)
        let found = spans(in: scalars, profile: profile)
        return Self.apply(found, to: scalars)
    }

    /// Replaces each span by `[LABEL]` and counts labels.
    static func apply(_ spans: [DetectedSpan], to scalars: [Unicode.Scalar]) -> RedactionResult {
        var out = String.UnicodeScalarView()
        var counts: [String: Int] = [:]
        var cursor = 0
        for span in spans {
            out.append(contentsOf: scalars[cursor..<span.start])
            out.append(contentsOf: "[\(span.label)]".unicodeScalars)
            counts[span.label, default: 0] += 1
            cursor = span.end
        }
        out.append(contentsOf: scalars[cursor...])
        return RedactionResult(text: String(out), counts: counts)
    }

    public func streaming(profile: String) -> any StreamingRedaction {
        StreamRedactor(engine: self, profile: profile)
    }
}

/// Stream-safe redaction: holds back the tail that a match could still extend into, at most `holdback` scalars
/// (plus any match that started inside it), so a secret split across deltas is still caught.
public struct StreamRedactor: StreamingRedaction {
    let engine: RedactionEngine
    let profile: String
    var pending: [Unicode.Scalar] = []
    public private(set) var counts: [String: Int] = [:]

    init(engine: RedactionEngine, profile: String) {
        self.engine = engine
        self.profile = profile
    }

    public mutating func feed(_ delta: String) -> String {
        pending.append(contentsOf: delta.unicodeScalars)
        guard pending.count > engine.holdback else { return "" }
        let spans = engine.spans(in: pending, profile: profile)
        var cut = pending.count - engine.holdback
        // Never cut inside or right after a match: it could still grow.
        for span in spans where span.start < cut && span.end >= cut { cut = span.start }
        // Never cut inside a word, so that word-boundary rules see the same context as in the whole text.
        let floor = max(0, cut - engine.holdback)
        while cut > floor, cut < pending.count, isWordScalar(pending[cut - 1]), isWordScalar(pending[cut]) { cut -= 1 }
        guard cut > 0 else { return "" }
        let emitted = spans.filter { $0.end <= cut }
        let result = RedactionEngine.apply(emitted, to: Array(pending[0..<cut]))
        for (label, n) in result.counts { counts[label, default: 0] += n }
        pending.removeFirst(cut)
        return result.text
    }

    public mutating func finish() -> String {
        let spans = engine.spans(in: pending, profile: profile)
        let result = RedactionEngine.apply(spans, to: pending)
        for (label, n) in result.counts { counts[label, default: 0] += n }
        pending = []
        return result.text
    }
}
