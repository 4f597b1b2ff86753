import SealgateCore

/// Stream-safe redaction: the concatenation of everything `feed` and `finish` return equals
/// `engine.redact(wholeText, profile:)`, however the text is split into deltas.
///
/// How: the session keeps a window of unemitted text plus up to `2 × holdback` scalars of already-emitted left
/// context (so that detectors see the same context as in the whole text). After each delta it runs the detectors on
/// the window and emits up to a cut point that is at most `holdback` scalars before the end, moved back
/// - to the start of any span that reaches the cut (it could still grow),
/// - to the start of any match still in progress that may outgrow the holdback (`Detector.unfinishedMatchStart`:
///   a PEM private-key block before its END line, a long token such as a JWT), each bounded by its detector's hard
///   cap (`SecretDetector.pemCap` for PEM blocks, `SecretDetector.tokenCap` for tokens) after which the text is
///   redacted or emitted as the whole-text redaction would do (fail closed: a capped PEM block is still redacted),
/// - to a whitespace (or at least a word) boundary, so that boundary rules see the same neighbours.
///
/// So the holdback is `holdback` scalars, plus the length of a span or unfinished match that started before the
/// cut. `finish()` flushes the rest, redacted.
///
/// Cost: each delta rescans the window (about 3 × holdback scalars plus the delta), so a stream costs
/// O(text × window / delta size); with 16-scalar deltas that is about 3 MB/s per core, far above model output rates.
public struct StreamRedactor: StreamingRedaction {
    let engine: RedactionEngine
    let actions: [String: RedactionAction]
    /// Left context (already emitted) followed by pending text.
    var window: [Unicode.Scalar] = []
    /// Index in `window` of the first unemitted scalar.
    var emitted = 0
    /// Window size when a long (> 1024 scalars) unfinished match was last seen; rescans wait for 256 more scalars,
    /// so the output may lag up to 256 scalars behind the end of such a match (a PEM END line).
    var heldAt = -1
    public private(set) var counts: [String: Int] = [:]

    init(engine: RedactionEngine, profile: String) {
        self.engine = engine
        self.actions = engine.actions(for: profile)
    }

    /// How many scalars are held back now.
    public var pendingCount: Int { window.count - emitted }

    public mutating func feed(_ delta: String) -> String {
        window.append(contentsOf: delta.unicodeScalars)
        let holdback = engine.holdback
        guard window.count - emitted > holdback else { return "" }
        if heldAt >= 0, window.count < heldAt + 256 { return "" }
        heldAt = -1
        let spans = engine.resolve(window)
        var cut = window.count - holdback
        for detector in engine.detectors {
            if let start = detector.unfinishedMatchStart(in: window), start < cut {
                cut = start
                // A long hold (a PEM body) is rescanned every 256 scalars, not on every delta: linear overall.
                if window.count - start > 1024 { heldAt = window.count }
            }
        }
        var previous = -1
        while cut != previous, cut > emitted {
            previous = cut
            // Never cut inside or right after a match: it could still grow.
            for span in spans.reversed() where span.start < cut && span.end >= cut { cut = span.start }
            // Cut after whitespace if there is some within reach, else at least between words.
            let floor = max(emitted, cut - holdback)
            var c = cut
            while c > floor, c < window.count, !isSpace(window[c - 1]) { c -= 1 }
            if c > floor || (c == floor && c > 0 && isSpace(window[c - 1])) {
                cut = c
            } else {
                while cut > floor, cut < window.count, isWordScalar(window[cut - 1]), isWordScalar(window[cut]) { cut -= 1 }
            }
        }
        guard cut > emitted else { return "" }
        let text = emit(spans, upTo: cut)
        // Keep at most 2 × holdback scalars of left context.
        let drop = emitted - 2 * holdback
        if drop > 0 {
            window.removeFirst(drop)
            emitted -= drop
            if heldAt >= 0 { heldAt -= drop }
        }
        return text
    }

    public mutating func finish() -> String {
        let spans = engine.resolve(window)
        let text = emit(spans, upTo: window.count)
        window = []
        emitted = 0
        return text
    }

    /// Emits `window[emitted..<cut]` with the profile's spans in it redacted; advances `emitted`.
    mutating func emit(_ spans: [DetectedSpan], upTo cut: Int) -> String {
        var local: [DetectedSpan] = []
        for span in spans where span.end > emitted && span.start < cut && actions[span.label] != nil {
            // A span reaching back into emitted text cannot be unsent; redact its unsent part (fail closed).
            let start = max(span.start, emitted)
            let end = min(span.end, cut)
            local.append(DetectedSpan(start: start - emitted, end: end - emitted, label: span.label))
        }
        let result = engine.apply(local, to: window[emitted..<cut], actions: actions)
        for (label, n) in result.counts { counts[label, default: 0] += n }
        emitted = cut
        return result.text
    }
}
