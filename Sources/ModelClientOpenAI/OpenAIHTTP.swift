import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SealgateCore

/// Shared HTTP plumbing for OpenAI-compatible upstreams: JSON POST with deadline, bounded body, retries.
struct OpenAIHTTP: Sendable {
    let client: HTTPClient
    let baseURL: String
    let apiKey: String?
    let timeout: TimeAmount
    let maxResponseBytes: Int
    let retries: Int
    let failureCode: ReasonCode

    func request(path: String, body: Data) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL.trimmingSlash + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        if let apiKey, !apiKey.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// POSTs JSON and returns the collected body of a 2xx response, retrying 5xx and transport failures.
    func postJSON(path: String, body: Data) async throws -> Data {
        var attempt = 0
        while true {
            do {
                let response = try await client.execute(request(path: path, body: body), timeout: timeout)
                guard (200..<300).contains(Int(response.status.code)) else {
                    let retryable = response.status.code >= 500 || response.status.code == 429
                    _ = try? await response.body.collect(upTo: 64 * 1024)
                    if retryable && attempt < retries {
                        attempt += 1
                        try await Task.sleep(nanoseconds: UInt64(200_000_000 * attempt))
                        continue
                    }
                    throw SealgateError(failureCode, "upstream answered HTTP \(response.status.code)")
                }
                var buffer = try await response.body.collect(upTo: maxResponseBytes)
                return buffer.readData(length: buffer.readableBytes) ?? Data()
            } catch let error as SealgateError {
                throw error
            } catch {
                if attempt < retries && !(error is NIOTooManyBytesError) {
                    attempt += 1
                    try await Task.sleep(nanoseconds: UInt64(200_000_000 * attempt))
                    continue
                }
                throw SealgateError(failureCode, error is NIOTooManyBytesError ? "upstream response too large" : "upstream request failed")
            }
        }
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
