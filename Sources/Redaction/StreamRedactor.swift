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
/// Column context: a cell of a delimited table is typed by its column's header line (`DelimitedTables`), which may
/// lie far behind. While a detector reports such a line (`Detector.retainedContext`: a table has rows not yet
/// emitted), the session keeps a copy of it (at most `retainedCap` scalars) and scans it, followed by a newline, in
/// front of a window that then starts at a line start (at most `rowCap` scalars of the current row are kept as left
/// context). A header longer than `retainedCap`, or a row longer than `rowCap`, ends this: the rest of that table is
/// redacted by shape alone (its bare-digit SSNs and phone numbers may then pass). This costs no extra holdback, only
/// left context, and while a table is open, a rescan of up to `rowCap` more scalars per delta.
///
/// Cost: each delta rescans the window (about 3 × holdback scalars plus the delta), so a stream costs
/// O(text × window / delta size); with 16-scalar deltas that is about 3 MB/s per core, far above model output rates.
public struct StreamRedactor: StreamingRedaction {
    let engine: RedactionEngine
    /// The profile's actions and detectors: only the detectors that can change its result run on each window (as
    /// in `redact`), and only the profile's own while they find nothing, so a narrow profile such as `basic` costs
    /// less than `all`.
    let plan: RedactionEngine.Plan
    var actions: [String: RedactionAction] { plan.actions }
    var detectors: [any Detector] { plan.detectors }
    /// Left context (already emitted) followed by pending text.
    var window: [Unicode.Scalar] = []
    /// Index in `window` of the first unemitted scalar.
    var emitted = 0
    /// Window size when a long (> 1024 scalars) unfinished match was last seen; rescans wait for 256 more scalars,
    /// so the output may lag up to 256 scalars behind the end of such a match (a PEM END line).
    var heldAt = -1
    /// The header line of a delimited table still open, followed by a newline, once it has left the window.
    var pinned: [Unicode.Scalar] = []
    public private(set) var counts: [String: Int] = [:]

    /// The longest header line kept as column context.
    public static let retainedCap = 512
    /// The longest row for which column context is kept.
    public static let rowCap = 1024

    init(engine: RedactionEngine, profile: String) {
        self.engine = engine
        self.plan = engine.plan(for: profile)
    }

    /// How many scalars are held back now.
    public var pendingCount: Int { window.count - emitted }

    public mutating func feed(_ delta: String) -> String {
        window.append(contentsOf: delta.unicodeScalars)
        let holdback = engine.holdback
        guard window.count - emitted > holdback else { return "" }
        if heldAt >= 0, window.count < heldAt + 256 { return "" }
        heldAt = -1
        let spans = resolveWindow()
        var cut = window.count - holdback
        // The detectors' holds see the window folded as detection does (a zero-width space inside a long local
        // part ended the hold on the raw text while detection found one address: review finding).
        let folded = FoldedText.fold(window)
        for detector in detectors {
            if let found = detector.unfinishedMatchStart(in: folded?.scalars ?? window),
                case let start = folded.map { $0.originalIndex(found) } ?? found, start < cut
            {
                cut = start
                // A long hold (a PEM body) is rescanned every 256 scalars, not on every delta: linear overall.
                if window.count - start > 1024 { heldAt = window.count }
            }
        }
        // Cut after whitespace if there is some within reach, else between words if within reach; a word longer
        // than the holdback is cut inside (the detectors that match long tokens hold their start through
        // `unfinishedMatchStart`). Searched once: walking back again from each boundary found nothing in a long run
        // of letters or digits, held all of it, and rescanned all of it on every delta (review finding: a 40,000-
        // scalar run took 14 s to stream, and emitted nothing until it ended).
        let floor = max(emitted, cut - holdback)
        var c = cut
        while c > floor, c < window.count, !isSpace(window[c - 1]) { c -= 1 }
        if c > floor || (c == floor && c > 0 && isSpace(window[c - 1])) {
            cut = c
        } else {
            var w = cut
            while w > floor, w < window.count, isWordScalar(window[w - 1]), isWordScalar(window[w]) { w -= 1 }
            if w > floor { cut = w }
        }
        // Never cut inside or right after a match: it could still grow.
        var previous = -1
        while cut != previous, cut > emitted {
            previous = cut
            for span in spans.reversed() where span.start < cut && span.end >= cut {
                cut = span.start
                // A long match held only by its span (no detector's hold: a block its hold does not see) is rescanned
                // every 256 scalars too, not on every delta.
                if window.count - span.start > 1024 { heldAt = window.count }
            }
        }
        guard cut > emitted else { return "" }
        let text = emit(spans, upTo: cut)
        dropLeftContext()
        return text
    }

    public mutating func finish() -> String {
        let spans = resolveWindow()
        let text = emit(spans, upTo: window.count)
        window = []
        emitted = 0
        pinned = []
        return text
    }

    /// The spans of the window, scanned after the pinned header line if there is one.
    func resolveWindow() -> [DetectedSpan] {
        guard !pinned.isEmpty else { return engine.resolve(window, plan: plan) }
        let offset = pinned.count
        return engine.resolve(pinned + window, plan: plan).compactMap { span in
            guard span.end > offset else { return nil }
            return DetectedSpan(start: max(span.start, offset) - offset, end: span.end - offset, label: span.label)
        }
    }

    /// Keeps at most 2 × holdback scalars of left context; while a table is open, from a line start, with its header
    /// line pinned once it leaves the window.
    mutating func dropLeftContext() {
        var drop = emitted - 2 * engine.holdback
        guard drop > 0 else { return }
        let offset = pinned.count
        let scanned = pinned.isEmpty ? window : pinned + window
        var header: Range<Int>? = nil
        // Folded as detection sees it (a header with a fullwidth comma or a no-break space is a table only then).
        let folded = FoldedText.fold(scanned)
        for detector in detectors {
            let from = folded.map { $0.foldedIndex(offset + emitted) } ?? offset + emitted
            if let range = detector.retainedContext(in: folded?.scalars ?? scanned, from: from) {
                header = folded.map { $0.originalIndex(range.lowerBound)..<$0.originalIndex(range.upperBound) } ?? range
                break
            }
        }
        if let header {
            // Drop only whole lines, so that the window starts at a row's start.
            var lineStart = drop
            while lineStart > 0, window[lineStart - 1] != "\n", drop - lineStart < Self.rowCap { lineStart -= 1 }
            if lineStart == 0 || window[lineStart - 1] == "\n" {
                drop = lineStart
                if header.lowerBound >= offset {
                    // The header is in the window: pin it when it leaves; a stale pinned header goes.
                    let inWindow = (header.lowerBound - offset)..<(header.upperBound - offset)
                    let fits = inWindow.lowerBound < drop && inWindow.count <= Self.retainedCap
                    pinned = fits ? Array(window[inWindow]) + ["\n"] : []
                }
            } else {
                pinned = []
            }
        } else {
            pinned = []
        }
        guard drop > 0 else { return }
        window.removeFirst(drop)
        emitted -= drop
        if heldAt >= 0 { heldAt -= drop }
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
