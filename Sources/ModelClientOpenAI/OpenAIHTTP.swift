import Foundation
import NIOCore
import NIOHTTP1
import SealgateCore

/// Shared HTTP plumbing for OpenAI-compatible upstreams: JSON POST with deadline, bounded body, retries.
struct OpenAIHTTP: Sendable {
    let transport: any UpstreamTransport
    let baseURL: String
    let apiKey: String?
    let timeout: TimeAmount
    let maxResponseBytes: Int
    let retries: Int
    let failureCode: ReasonCode

    var headers: [(String, String)] {
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
        if let apiKey, !apiKey.isEmpty { headers.append(("Authorization", "Bearer \(apiKey)")) }
        return headers
    }

    /// POSTs JSON; returns the response (any status). Transport failures throw.
    func post(path: String, body: Data) async throws -> UpstreamResponse {
        try await transport.post(url: baseURL.trimmingSlash + path, headers: headers, body: body, timeout: timeout)
    }

    /// POSTs JSON and returns the collected body of a 2xx response, retrying 5xx and transport failures.
    func postJSON(path: String, body: Data) async throws -> Data {
        var attempt = 0
        while true {
            do {
                let response = try await post(path: path, body: body)
                guard (200..<300).contains(response.status) else {
                    let retryable = response.status >= 500 || response.status == 429
                    _ = try? await response.collect(upTo: 64 * 1024)
                    if retryable && attempt < retries {
                        attempt += 1
                        try await Task.sleep(nanoseconds: UInt64(200_000_000 * attempt))
                        continue
                    }
                    throw SealgateError(failureCode, "upstream answered HTTP \(response.status)")
                }
                return try await response.collect(upTo: maxResponseBytes)
            } catch let error as SealgateError {
                throw error
            } catch {
                let tooLarge = error is UpstreamBodyTooLarge || error is NIOTooManyBytesError
                if attempt < retries && !tooLarge && !(error is UpstreamRefused) {
                    attempt += 1
                    try await Task.sleep(nanoseconds: UInt64(200_000_000 * attempt))
                    continue
                }
                if let refused = error as? UpstreamRefused { throw SealgateError(refused.code, refused.message) }
                throw SealgateError(failureCode, tooLarge ? "upstream response too large" : "upstream request failed")
            }
        }
    }
}

/// A transport's refusal to talk to an upstream at all (an attested endpoint that did not prove what it must):
/// never retried, surfaced with its own reason code.
public struct UpstreamRefused: Error, Sendable {
    public let code: ReasonCode
    public let message: String

    public init(_ code: ReasonCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension String {
    var trimmingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}

extension ByteBuffer {
    mutating func readData(length: Int) -> Data? {
        guard let bytes = readBytes(length: length) else { return nil }
        return Data(bytes)
    }
}
