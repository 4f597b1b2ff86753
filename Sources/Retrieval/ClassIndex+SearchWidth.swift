/// What a dense sub-index's graph found, at each width of `auto`'s ladder, for questions that were also answered
/// by the exact int8 search: the measurement behind the width `auto` uses (``ClassIndex/searchWidth``).
///
/// `auto` starts from ``IndexOptions/efSearch(nodes:)`` (64, growing with the square root of the graph above
/// 131 k nodes), which is what well-spread data needs. How hard a graph is to walk depends on the data and on the
/// questions, though: on 100 k MiniLM passages of near-duplicate generated text both sealgate and hnswlib need
/// width 256 for recall@10 0.95 where the seeded benchmark and real text need 64 (docs/benchmarks.md), and nothing
/// in the vectors alone predicted it (probe questions made from the chunks were too easy or too hard, by data set).
/// So the index measures the real questions: the graph's candidates at 1 to 8 × the base width (``steps``) against
/// the exact int8 search, off the request's path (the answer never waits; one measurement at a time per index, and
/// none while the tenant's index is being written). Until ``warmUp`` questions of a sub-index have been measured
/// (in a build's life: a compaction keeps the evidence, a rebuild or a snapshot load starts again) every question
/// is offered for measurement and searched at the ladder's widest width; after that one question in ``steadyRate``
/// is, and `auto` searches at the narrowest width whose candidates held ``target`` of the exact int8 search's (the
/// base width while it does; the widest when none did). Counts are halved every ``window`` measurements, so the
/// width follows the questions as they change. Only counts are kept, never a question.
public struct WidthEvidence: Sendable, Equatable {
    /// The ladder's steps, as multiples of the base width (the size rule's width, which moves as the graph grows:
    /// counts are kept per step, so a new base keeps the evidence).
    public static let steps: [Double] = [1, 1.5, 2, 3, 4, 6, 8]
    /// Questions measured before the evidence decides a width.
    public static let warmUp = 128
    /// After the warm-up, one question in this many is measured.
    public static let steadyRate = 1024
    /// The share of the exact int8 search's candidates for rescoring that a width's candidates must hold.
    public static let target = 0.96
    /// Questions after which the counts are halved.
    static let window = 512

    /// Per step, how many of the exact int8 search's candidates for rescoring were among the graph's.
    var found = [Double](repeating: 0, count: WidthEvidence.steps.count)
    /// How many exact candidates there were.
    var relevant: Double = 0
    /// Questions measured since the counts were last halved.
    var questions = 0
    /// The base width of the latest measurement.
    public private(set) var base: Int

    /// An empty record.
    init(base: Int) { self.base = max(1, base) }

    /// The ladder over `base`: the base times each of ``steps``, at most ``IndexOptions/efSearchLimit``.
    static func ladder(base: Int) -> [Int] {
        steps.map { min(Int((Double(max(1, base)) * $0).rounded(.up)), IndexOptions.efSearchLimit) }
    }

    /// The ladder over the latest base (for logs, tests and benchmarks).
    public var widths: [Int] { Self.ladder(base: base) }

    /// Whether enough questions were measured to decide.
    public var isDecided: Bool { questions >= Self.warmUp }

    /// The narrowest step whose candidates held ``target`` of the exact ones (the widest if none did), as a width
    /// over `base`; nil before the warm-up.
    public func width(base: Int) -> Int? {
        guard isDecided, relevant > 0 else { return nil }
        let ladder = Self.ladder(base: base)
        for (width, hits) in zip(ladder, found) where hits >= Self.target * relevant { return width }
        return ladder.last
    }

    /// ``width(base:)`` over the latest base.
    public var width: Int? { width(base: base) }

    /// The measured share of the exact candidates the graph found, per step (for logs, tests and benchmarks).
    public var recalls: [Double] { found.map { relevant > 0 ? $0 / relevant : 0 } }

    /// Adds one question's counts (one per step), measured over `base`.
    mutating func add(found hits: [Int], relevant count: Int, base: Int) {
        guard hits.count == found.count, count > 0 else { return }
        self.base = max(1, base)
        for i in found.indices { found[i] += Double(hits[i]) }
        relevant += Double(count)
        questions += 1
        if questions >= Self.window {
            for i in found.indices { found[i] /= 2 }
            relevant /= 2
            questions /= 2
        }
    }
}

extension WidthEvidence {
    /// Writes the counts into a snapshot: the number of steps, the latest base, the questions counted, the exact
    /// candidates and what each step found (never a question).
    func encode(into out: inout SnapshotWriter) {
        out.u8(UInt8(found.count))
        out.u32(base)
        out.u32(questions)
        out.u64(relevant.bitPattern)
        for hits in found { out.u64(hits.bitPattern) }
    }

    /// Reads what ``encode(into:)`` wrote. Counts from a ladder of another length (another release's steps) are
    /// skipped and give nil: the sub-index is still good, it measures again.
    /// - Throws: ``SnapshotReader/malformed`` for counts that no measurement could give (negative, not finite, a step
    ///   finding more than there was, more questions than a window, a base out of range).
    static func decode(from r: inout SnapshotReader) throws -> WidthEvidence? {
        let stepCount = Int(try r.u8())
        let base = try r.u32()
        let questions = try r.u32()
        let relevant = Double(bitPattern: try r.u64())
        let found = try (0..<stepCount).map { _ in Double(bitPattern: try r.u64()) }
        guard (1...IndexOptions.efSearchLimit).contains(base), questions < window, relevant.isFinite, relevant >= 0,
            found.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= relevant })
        else { throw SnapshotReader.malformed }
        guard stepCount == steps.count else { return nil }
        var evidence = WidthEvidence(base: base)
        evidence.found = found
        evidence.relevant = relevant
        evidence.questions = questions
        return evidence
    }
}

extension ClassIndex {
    /// How long after a sub-index's width was last reported as worth sealing again (``recordWidths(base:found:relevant:now:)``)
    /// a change of the measured width is reported again: each report seals the whole sub-index (seconds of CPU at a
    /// million chunks), and the width moves a step now and then as the counts are halved.
    static let resealInterval: Duration = .seconds(30 * 60)

    /// Whether `auto`'s width is measured on this sub-index at all: a dense one searched through a graph at `auto`.
    var measuresWidth: Bool { !idf && options.efSearchGrows && graph != nil }

    /// Whether the evidence is still in its warm-up (questions are then searched at the ladder's widest width and
    /// each offered for measurement).
    var widthWarmingUp: Bool { measuresWidth && widthEvidence?.isDecided != true }

    /// For `query` (as prepared for the search) and a search that rescores `candidates`: the base width, and per
    /// step of the ladder over it how many of the exact int8 search's best `candidates` are among the graph's (the
    /// set exact rescoring ranks: where int8 scores nearly tie, the exact top 10 comes from all of it), with the
    /// size of that set.
    func measureWidths(query: [Float], candidates: Int) -> (base: Int, found: [Int], relevant: Int) {
        let base = options.efSearch(nodes: nodeCount)
        let count = max(candidates, 10)
        let top = Set(scan(query: query, weights: nil, count: count).map(\.node))
        let found = WidthEvidence.ladder(base: base).map { width in
            graphSearch(query: query, weights: nil, count: count, width: width).filter { top.contains($0.node) }.count
        }
        return (base, found, top.count)
    }

    /// Adds a measurement made on this sub-index (or on an earlier state of it). Returns true when the evidence now
    /// decides a width that its sealed snapshot should carry: the first decision after a warm-up, or a width other
    /// than the one last reported once ``resealInterval`` has passed since.
    mutating func recordWidths(base: Int, found: [Int], relevant: Int, now: ContinuousClock.Instant = .now) -> Bool {
        if widthEvidence == nil { widthEvidence = WidthEvidence(base: base) }
        widthEvidence?.add(found: found, relevant: relevant, base: base)
        guard let width = widthEvidence?.width, width != reportedWidth?.width else { return false }
        if let last = reportedWidth, now - last.at < Self.resealInterval { return false }
        reportedWidth = (width, now)
        return true
    }

    /// The level-0 width a search of this sub-index uses: ``IndexOptions/efSearch(nodes:)``, or with `auto` on a dense
    /// graph the width its questions were measured to need (``WidthEvidence``; the ladder's widest in the warm-up),
    /// never less.
    var searchWidth: Int {
        let base = options.efSearch(nodes: nodeCount)
        guard measuresWidth else { return base }
        guard let measured = widthEvidence?.width(base: base) else { return WidthEvidence.ladder(base: base).last ?? base }
        return max(base, measured)
    }

    /// The evidence behind `auto`'s width, if any (tests and benchmarks).
    public var searchWidthEvidence: WidthEvidence? { widthEvidence }
}
