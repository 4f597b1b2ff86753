import AccessPolicy
import Foundation
import Gateway
import Retrieval
import SealgateCore
import Synchronization
import Testing

/// A document of a class a principal may not use is hidden from its listings and retrieval; deleting or replacing it
/// by id must be refused too (before, a principal limited to `public`/`internal` deleted or overwrote `confidential`
/// documents it could not see, and a delete told it which ids exist).
@Suite("Documents of a class the principal may not use: neither deleted nor replaced")
struct HiddenClassWriteTests {
    static let reader = Caller(
        principal: Principal(tenant: Harness.acme, id: PrincipalID(unchecked: "reader")),
        grants: Grants(read: ["*"], write: ["*"], dataClasses: ["public", "internal"]))

    static func ingest(_ h: Harness, _ id: String, _ dataClass: String, as caller: Caller) async -> Result<IngestResult, GatewayFailure> {
        await h.gateway.documents.ingest(
            IngestRequest(id: DocumentID(unchecked: id), title: id, text: "The \(id) text for item 42.", dataClass: dataClass), collection: Harness.notes,
            caller: caller, requestID: Gateway.newRequestID())
    }

    static func reason<T>(_ result: Result<T, GatewayFailure>) -> ReasonCode? {
        guard case .failure(let failure) = result else { return nil }
        return failure.denial.reason
    }

    @Test("Delete of a hidden document answers like a missing one and keeps it; its refusal names no class; a visible one is deleted")
    func delete() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = try await Self.ingest(h, "secret", "confidential", as: Harness.caller).get()
        _ = try await Self.ingest(h, "memo", "internal", as: Self.reader).get()

        let hidden = await h.gateway.documents.delete(id: DocumentID(unchecked: "secret"), collection: Harness.notes, caller: Self.reader, requestID: "r1")
        let missing = await h.gateway.documents.delete(id: DocumentID(unchecked: "nope"), collection: Harness.notes, caller: Self.reader, requestID: "r2")
        #expect(Self.reason(hidden) == .documentNotFound && Self.reason(missing) == .documentNotFound)
        #expect(await h.gateway.documents.hasDocument(tenant: Harness.acme, collection: Harness.notes, id: DocumentID(unchecked: "secret")))
        let records = h.audit.all.filter { $0.kind == .delete }
        #expect(records.count == 2 && records.allSatisfy { $0.outcome == .denied && $0.dataClass == nil && $0.reason == "document_not_found" })

        let visible = await h.gateway.documents.delete(id: DocumentID(unchecked: "memo"), collection: Harness.notes, caller: Self.reader, requestID: "r3")
        #expect(Self.reason(visible) == nil)
        #expect(await !h.gateway.documents.hasDocument(tenant: Harness.acme, collection: Harness.notes, id: DocumentID(unchecked: "memo")))
    }

    @Test("Re-ingesting a hidden document's id is write_not_permitted and the stored document keeps its class; a visible id is replaced")
    func replace() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = try await Self.ingest(h, "secret", "confidential", as: Harness.caller).get()
        #expect(Self.reason(await Self.ingest(h, "secret", "public", as: Self.reader)) == .writeNotPermitted)
        let stored = try #require(try await h.store.document(tenant: Harness.acme, collection: Harness.notes, id: DocumentID(unchecked: "secret")))
        #expect(stored.dataClass.rawValue == "confidential")
        // The owner of every class replaces it (and may move it to another class).
        #expect(Self.reason(await Self.ingest(h, "secret", "internal", as: Harness.caller)) == nil)
        // Now internal: the reader may replace it.
        #expect(Self.reason(await Self.ingest(h, "secret", "public", as: Self.reader)) == nil)
    }

    @Test("A document of a hidden class written between the reader's check and its write survives: the write fails write_not_permitted")
    func raceWithOwner() async throws {
        let hook = HookEmbedder()
        let h = try await Harness.make(embedder: hook)
        defer { Task { await h.close() } }
        #expect(await h.lease())
        // While the reader's document is embedded (after its check found no document "d"), the owner stores a
        // confidential "d".
        hook.arm { _ = try? await Self.ingest(h, "d", "confidential", as: Harness.caller).get() }
        #expect(Self.reason(await Self.ingest(h, "d", "public", as: Self.reader)) == .writeNotPermitted)
        let stored = try #require(try await h.store.document(tenant: Harness.acme, collection: Harness.notes, id: DocumentID(unchecked: "d")))
        #expect(stored.dataClass.rawValue == "confidential")
    }
}

/// The hashing embedder, running a hook once, the first time it embeds after ``arm(_:)`` (and before it answers).
final class HookEmbedder: Embedder, Sendable {
    let hashing = HashingEmbedder(dimensions: 256)
    let hook = Mutex<(@Sendable () async -> Void)?>(nil)
    var identifier: String { hashing.identifier }
    var wantsIDFWeighting: Bool { hashing.wantsIDFWeighting }

    func arm(_ action: @escaping @Sendable () async -> Void) { hook.withLock { $0 = action } }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        if let action = hook.withLock({ value -> (@Sendable () async -> Void)? in
            defer { value = nil }
            return value
        }) {
            await action()
        }
        return try await hashing.embed(texts)
    }
}
