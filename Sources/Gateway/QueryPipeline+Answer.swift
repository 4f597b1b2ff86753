import AccessPolicy
import Foundation
import SealgateCore

extension QueryPipeline {
    /// Answers a question through the whole pipeline.
    public func query(_ request: QueryRequest, caller: Caller, requestID: String, kind: AuditKind = .query) async
        -> Result<QueryResult, GatewayFailure>
    {
        let prepared: Prepared
        switch await prepare(request, caller: caller, requestID: requestID, kind: kind) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): prepared = value
        }
        let c = prepared.grant.context
        let answer: ModelAnswer
        do { answer = try await prepared.model.answer(await prompt(request, prepared)) } catch {
            recorder.modelFailed(error, requestID: requestID)
            return .failure(
                await recorder.deny(
                    Refusal(Self.modelDenial(error), kind: kind, requestID: requestID, principal: caller.principal, dataClass: c.dataClass.rawValue, model: c.model.rawValue)))
        }
        let redacted = await keyRing.redactor(for: c.tenant).redact(answer.text, profile: prepared.grant.classRule.redactionProfile)
        recorder.redactions(redacted.counts, tenant: c.tenant)
        var record = await record(kind, prepared)
        record.redactions = redacted.counts
        switch await recorder.commit(record) {
        case .failure(let failure): return .failure(failure)
        case .success(let index):
            return .success(QueryResult(answer: redacted.text, model: c.model, citations: answer.citations, retrieved: prepared.passages.map(\.citation),
                    redactions: redacted.counts, auditIndex: index))
        }
    }

    /// Answers as a stream. The request's audit record is written before streaming starts (its index goes in
    /// the response headers); a `chat_completion` record with the redaction counts follows when the stream ends.
    public func stream(_ request: QueryRequest, caller: Caller, requestID: String) async -> Result<StreamedAnswer, GatewayFailure> {
        let prepared: Prepared
        switch await prepare(request, caller: caller, requestID: requestID, kind: .chat) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): prepared = value
        }
        let c = prepared.grant.context
        let start = await record(.chat, prepared)
        let index: UInt64
        switch await recorder.commit(start) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): index = value
        }
        let upstream = prepared.model.stream(await prompt(request, prepared))
        let redactor = await keyRing.redactor(for: c.tenant)
        let profile = prepared.grant.classRule.redactionProfile
        let recorder = self.recorder
        let completion = StreamCompletion()
        let deltas = AsyncThrowingStream<String, any Error> { continuation in
            let task = Task {
                var redaction = redactor.streaming(profile: profile)
                var outcome = AuditOutcome.allowed
                var reason: String?
                do {
                    for try await delta in upstream {
                        let safe = redaction.feed(delta)
                        if !safe.isEmpty { continuation.yield(safe) }
                    }
                    // A client that went away cancels this task, and the upstream's stream then just ends: the
                    // record says so rather than that the answer was delivered whole.
                    if Task.isCancelled {
                        outcome = .error
                        reason = ReasonCode.clientDisconnected.rawValue
                    } else {
                        let rest = redaction.finish()
                        if !rest.isEmpty { continuation.yield(rest) }
                    }
                } catch {
                    outcome = .error
                    if Task.isCancelled {
                        reason = ReasonCode.clientDisconnected.rawValue
                    } else {
                        recorder.modelFailed(error, requestID: requestID)
                        reason = Self.modelDenial(error).reason.rawValue
                    }
                }
                var end = start
                end.kind = .chatCompletion
                end.time = AuditRecord.timestamp(recorder.now())
                end.outcome = outcome
                end.reason = reason
                end.redactions = redaction.counts
                recorder.redactions(redaction.counts, tenant: c.tenant)
                if case .success(let index) = await recorder.commit(end) { completion.set(index) }
                if outcome == .allowed {
                    continuation.finish()
                } else {
                    continuation.finish(throwing: SealgateError(ReasonCode(reason ?? ReasonCode.modelUnavailable.rawValue), "the model stream failed"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return .success(StreamedAnswer(model: c.model, citations: prepared.passages.map(\.citation), auditIndex: index, deltas: deltas, completion: completion))
    }

    /// Why a model call failed, as the refusal says it: an attested upstream that did not prove itself is
    /// `model_not_attested`, one that proved another model digest than the profile pins `model_digest_mismatch` (nothing
    /// was sent either way); everything else is `model_unavailable`.
    static func modelDenial(_ error: any Error) -> Denial {
        if let failure = error as? SealgateError, failure.code == .modelNotAttested {
            return Denial(.modelNotAttested, "The model's endpoint did not prove the attested workload its profile requires; nothing was sent.")
        }
        if let failure = error as? SealgateError, failure.code == .modelDigestMismatch {
            return Denial(.modelDigestMismatch, "The model's attested endpoint did not prove the model digest its profile pins; nothing was sent.")
        }
        return Denial(.modelUnavailable, "The model failed or timed out.")
    }
}
