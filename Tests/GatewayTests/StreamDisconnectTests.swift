import AccessPolicy
import Foundation
import Gateway
import SealgateCore
import SealgateTestSupport
import Testing

/// A model that streams one delta, then waits for more that never come (until its consumer goes away).
struct StallingModel: ChatModel {
    var modelName: String { "stalling" }
    func answer(_ prompt: ModelPrompt) async throws -> ModelAnswer { ModelAnswer(text: "first", citations: []) }
    func stream(_ prompt: ModelPrompt) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            continuation.yield("first words ")
            let task = Task { try? await Task.sleep(for: .seconds(3_600)) }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A streamed answer whose client goes away is recorded as such: its closing `chat_completion` record is an error
/// with reason `client_disconnected` and counted as a stream failure — before, it claimed a whole, successful
/// answer with the redaction counts of text never sent (review finding).
@Suite("Streaming: a client that goes away")
struct StreamDisconnectTests {
    @Test("Cancelling the reader after the first delta records client_disconnected and counts a stream failure")
    func abandoned() async throws {
        let h = try await Harness.make(model: StallingModel())
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = try await h.ingest("memo", "The parking garage is on level two.").get()
        let request = QueryRequest(question: "parking", dataClass: "internal", model: nil, scope: ["notes"], topK: 3)
        let streamed = try await h.gateway.pipeline.stream(request, caller: Harness.caller, requestID: "req-gone").get()
        // The client reads one delta and goes away: the task writing the response is cancelled (as Hummingbird's is
        // when the connection closes), which terminates the stream.
        let first = AsyncStream<String>.makeStream()
        let reader = Task {
            for try await delta in streamed.deltas { first.continuation.yield(delta) }
        }
        for await delta in first.stream {
            #expect(delta == "first words ")
            break
        }
        reader.cancel()
        let deadline = ContinuousClock.now + .seconds(30)
        while h.audit.all.first(where: { $0.kind == .chatCompletion }) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let closing = try #require(h.audit.all.first { $0.kind == .chatCompletion })
        #expect(closing.outcome == .error && closing.reason == "client_disconnected", "\(closing)")
        #expect(h.metrics.value("sealgate_stream_failures_total{tenant=acme}") == 1)
    }
}
