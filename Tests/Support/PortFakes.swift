import Foundation
import SealgateCore
import Synchronization

/// An in-memory ``DocumentStore`` (it sees only sealed values, like any store). `onChunksRead` runs inside
/// `chunks(tenant:)` before it returns, so a test can hold an index build at exactly that point.
public final class InMemoryDocumentStore: DocumentStore {
    struct Key: Hashable {
        let tenant: TenantID
        let collection: CollectionName
        let id: DocumentID
    }

    private let rows = Mutex<[Key: (StoredDocument, [StoredChunk])]>([:])
    private let hook = Mutex<(@Sendable () async -> Void)?>(nil)
    private let bulkReads = Mutex(0)
    /// While set, every `rewrap` throws (a store failing just then).
    public let rewrapFails = Mutex(false)

    /// How many times `chunks(tenant:)` (every chunk of a tenant: a full index rebuild) was called.
    public var bulkChunkReads: Int { bulkReads.withLock { $0 } }

    public init() {}

    /// Runs `action` once, the next time `chunks(tenant:)` has read its snapshot.
    public func onNextChunksRead(_ action: @escaping @Sendable () async -> Void) { hook.withLock { $0 = action } }

    public func put(_ document: StoredDocument, chunks: [StoredChunk], replacingOnly classes: Set<DataClass>?) async throws {
        let replaced = rows.withLock { rows -> Bool in
            let key = Key(tenant: document.tenant, collection: document.collection, id: document.id)
            if let existing = rows[key]?.0, let classes, !classes.contains(existing.dataClass) { return false }
            rows[key] = (document, chunks)
            return true
        }
        if !replaced { throw SealgateError(.storageUnavailable, "a document of another class has this id (test store)") }
    }

    public func document(tenant: TenantID, collection: CollectionName, id: DocumentID) async throws -> StoredDocument? {
        rows.withLock { $0[Key(tenant: tenant, collection: collection, id: id)]?.0 }
    }

    public func documents(tenant: TenantID, collection: CollectionName) async throws -> [StoredDocument] {
        rows.withLock { $0.values.map(\.0).filter { $0.tenant == tenant && $0.collection == collection }.sorted { $0.id < $1.id } }
    }

    public func documents(tenant: TenantID) async throws -> [StoredDocument] {
        rows.withLock { $0.values.map(\.0).filter { $0.tenant == tenant }.sorted { ($0.collection, $0.id) < ($1.collection, $1.id) } }
    }

    public func chunks(tenant: TenantID) async throws -> [StoredChunk] {
        bulkReads.withLock { $0 += 1 }
        let snapshot = rows.withLock { rows in
            rows.filter { $0.key.tenant == tenant }.sorted { ($0.key.collection, $0.key.id) < ($1.key.collection, $1.key.id) }.flatMap(\.value.1)
        }
        if let action = hook.withLock({ value -> (@Sendable () async -> Void)? in
            defer { value = nil }
            return value
        }) {
            await action()
        }
        return snapshot
    }

    public func chunks(tenant: TenantID, collection: CollectionName, documentID: DocumentID) async throws -> [StoredChunk] {
        rows.withLock { $0[Key(tenant: tenant, collection: collection, id: documentID)]?.1 ?? [] }
    }

    public func chunk(tenant: TenantID, collection: CollectionName, documentID: DocumentID, index: Int) async throws -> StoredChunk? {
        rows.withLock { $0[Key(tenant: tenant, collection: collection, id: documentID)]?.1.first { $0.index == index } }
    }

    public func delete(tenant: TenantID, collection: CollectionName, id: DocumentID, onlyOf classes: Set<DataClass>?) async throws -> Bool {
        rows.withLock { rows in
            let key = Key(tenant: tenant, collection: collection, id: id)
            guard let existing = rows[key]?.0, classes?.contains(existing.dataClass) ?? true else { return false }
            rows[key] = nil
            return true
        }
    }

    public func chunkCount(tenant: TenantID) async throws -> Int {
        rows.withLock { rows in rows.filter { $0.key.tenant == tenant }.reduce(0) { $0 + $1.value.0.chunkCount } }
    }

    public func rewrap(
        tenant: TenantID, collection: CollectionName, id: DocumentID, from: Int, replacing: Data, to: Int, wrappedDEK: Data
    ) async throws -> Bool {
        if rewrapFails.withLock({ $0 }) { throw SealgateError(.storageUnavailable, "re-wrap failed (test)") }
        return rows.withLock { rows in
            let key = Key(tenant: tenant, collection: collection, id: id)
            guard let (document, chunks) = rows[key], document.dekVersion == from, document.wrappedDEK == replacing else { return false }
            rows[key] = (
                StoredDocument(
                    tenant: document.tenant, collection: document.collection, id: document.id, dataClass: document.dataClass,
                    kekVersion: document.kekVersion, dekVersion: to, wrappedDEK: wrappedDEK, sealedTitle: document.sealedTitle,
                    sealedMetadata: document.sealedMetadata, chunkCount: document.chunkCount, embedder: document.embedder,
                    createdAt: document.createdAt),
                chunks
            )
            return true
        }
    }
}

/// An ``AuditSink`` that keeps records in memory (or refuses every append when `failing`).
public final class RecordingAuditSink: AuditSink {
    public let records = Mutex<[AuditRecord]>([])
    let failing: Bool

    public init(failing: Bool = false) { self.failing = failing }

    public func append(_ record: AuditRecord) async throws -> UInt64 {
        if failing { throw SealgateError(.auditUnavailable, "refused by the test") }
        return records.withLock {
            $0.append(record)
            return UInt64($0.count - 1)
        }
    }

    /// The records written so far.
    public var all: [AuditRecord] { records.withLock { $0 } }
}

/// A ``MetricsRecorder`` that sums counters by name and labels (`name{k=v,…}`).
public final class RecordingMetrics: MetricsRecorder {
    public let counters = Mutex<[String: Int]>([:])
    public init() {}
    public func increment(_ name: String, labels: [(String, String)], by amount: Int) {
        let key = name + "{" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        counters.withLock { $0[key, default: 0] += amount }
    }
    /// The value of one counter.
    public func value(_ key: String) -> Int { counters.withLock { $0[key] ?? 0 } }
}

/// A ``SecurityEventSink`` that keeps events in memory.
public final class RecordingEvents: SecurityEventSink {
    public let events = Mutex<[SecurityEvent]>([])
    public init() {}
    public func emit(_ event: SecurityEvent) { events.withLock { $0.append(event) } }
}

/// A ``ChatModel`` that answers with the passages it was given, citing each (what an extractive model does).
public struct PassageEchoModel: ChatModel {
    public init() {}
    public var modelName: String { "passage-echo" }
    public func answer(_ prompt: ModelPrompt) async throws -> ModelAnswer {
        ModelAnswer(text: prompt.passages.map(\.text).joined(separator: "\n"), citations: prompt.passages.map(\.citation))
    }
    public func stream(_ prompt: ModelPrompt) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            for passage in prompt.passages { continuation.yield(passage.text) }
            continuation.finish()
        }
    }
}

/// A ``RedactorFactory`` whose redactors change nothing (redaction has its own tests).
public struct NoRedaction: RedactorFactory, OutputRedactor {
    public init() {}
    public func hasProfile(_ name: String) -> Bool { true }
    public func redactor(tenant: TenantID, tokenKey: Data?) -> any OutputRedactor { self }
    public func redact(_ text: String, profile: String) -> RedactionResult { RedactionResult(text: text, counts: [:]) }
    public func streaming(profile: String) -> any StreamingRedaction { Passthrough() }

    struct Passthrough: StreamingRedaction {
        var counts: [String: Int] { [:] }
        mutating func feed(_ delta: String) -> String { delta }
        mutating func finish() -> String { "" }
    }
}

/// An in-memory ``IndexSnapshotStore``; tests read and overwrite its sealed bytes to tamper with them.
public final class InMemoryIndexSnapshotStore: IndexSnapshotStore {
    private let rows = Mutex<[IndexSnapshotKey: Data]>([:])

    public init() {}

    public func snapshot(_ key: IndexSnapshotKey) async throws -> Data? {
        let value = rows.withLock { $0[key] }
        if let hold = readHold.withLock({ hold in defer { hold = nil }; return hold }) { await hold.hold() }
        return value
    }
    public func save(_ sealed: Data, for key: IndexSnapshotKey) async throws {
        if failing.withLock({ count in
            guard count > 0 else { return false }
            count -= 1
            return true
        }) {
            throw SealgateError(.storageUnavailable, "snapshot store unavailable (test)")
        }
        rows.withLock { $0[key] = sealed }
        savesMade.add(1, ordering: .relaxed)
    }
    private let savesMade = Atomic(0)
    /// How many saves succeeded.
    public var saves: Int { savesMade.load(ordering: .relaxed) }
    private let readHold = Mutex<ReadHold?>(nil)
    /// Holds the next `snapshot(_:)` call after it has read its value, until ``ReadHold/release()``.
    public func holdNextRead() -> ReadHold {
        let hold = ReadHold()
        readHold.withLock { $0 = hold }
        return hold
    }
    private let failing = Mutex(0)
    /// The next `count` saves fail (a store that is briefly unavailable).
    public func failNextSaves(_ count: Int) { failing.withLock { $0 = count } }
    public func keys(tenant: TenantID) async throws -> [IndexSnapshotKey] { rows.withLock { $0.keys.filter { $0.tenant == tenant } } }
    public func delete(_ key: IndexSnapshotKey) async throws { _ = rows.withLock { $0.removeValue(forKey: key) } }

    /// Every key held.
    public var allKeys: [IndexSnapshotKey] { rows.withLock { Array($0.keys) } }
    /// Replaces a snapshot's bytes directly (tampering, truncation, replay).
    public func overwrite(_ key: IndexSnapshotKey, with data: Data?) { rows.withLock { $0[key] = data } }
}

/// A read held by ``InMemoryIndexSnapshotStore/holdNextRead()``: ``reached()`` returns once a read is held, which
/// goes on after ``release()``.
public final class ReadHold: Sendable {
    private let reachedSignal = AsyncStream<Void>.makeStream()
    private let releasedSignal = AsyncStream<Void>.makeStream()

    /// Returns once a read is held.
    public func reached() async { for await _ in reachedSignal.stream {} }
    /// Lets the held read go on.
    public func release() { releasedSignal.continuation.finish() }

    func hold() async {
        reachedSignal.continuation.finish()
        for await _ in releasedSignal.stream {}
    }
}
