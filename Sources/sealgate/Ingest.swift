import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import SealgateServer

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest .txt and .md files and folders through a running gateway's API.",
        discussion: """
            The tenant is always the API key's. Without --api-key or SEALGATE_API_KEY, the key of --tenant is read \
            from <data-dir>/demo-credentials.json.
            """)

    @Option(help: "Tenant whose demo credential to use when no API key is given.") var tenant: String
    @Option(help: "Target collection.") var collection: String
    @Option(name: .customLong("class"), help: "Data class of the documents.") var dataClass: String
    @Option(help: "Gateway base URL.") var url = "http://127.0.0.1:8080"
    @Option(name: .customLong("api-key"), help: "API key (or set SEALGATE_API_KEY).") var apiKey: String?
    @Option(name: .customLong("data-dir")) var dataDir = ".sealgate"
    @Argument(help: "Files or folders.") var paths: [String]

    func run() async throws {
        let key = try resolveKey()
        let files = try collectFiles()
        guard !files.isEmpty else {
            FileHandle.standardError.write(Data("sealgate ingest: no .txt or .md files found\n".utf8))
            throw ExitCode(1)
        }
        var failed = 0
        var chunks = 0
        for (n, file) in files.enumerated() {
            progress(n, files.count, file)
            do {
                chunks += try await upload(file, key: key)
            } catch {
                failed += 1
                FileHandle.standardError.write(Data("\n\(file): \(error)\n".utf8))
            }
        }
        progress(files.count, files.count, "")
        FileHandle.standardError.write(Data("\n".utf8))
        print("ingested \(files.count - failed) of \(files.count) files (\(chunks) chunks) into \(collection) as \(dataClass)")
        if failed > 0 { throw ExitCode(1) }
    }

    func resolveKey() throws -> String {
        if let apiKey { return apiKey }
        if let env = ProcessInfo.processInfo.environment["SEALGATE_API_KEY"], !env.isEmpty { return env }
        struct Creds: Decodable {
            struct Entry: Decodable { var api_key: String }
            var tenants: [String: Entry]
        }
        guard let data = FileManager.default.contents(atPath: dataDir + "/demo-credentials.json"),
            let creds = try? JSONDecoder().decode(Creds.self, from: data), let entry = creds.tenants[tenant]
        else { throw ValidationError("no API key: pass --api-key, set SEALGATE_API_KEY, or run `sealgate serve --demo` first") }
        return entry.api_key
    }

    func collectFiles() throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw ValidationError("\(path) does not exist") }
            if isDir.boolValue {
                let items = (fm.enumerator(atPath: path)?.allObjects as? [String]) ?? []
                out += items.filter { $0.hasSuffix(".txt") || $0.hasSuffix(".md") }.sorted().map { path + "/" + $0 }
            } else if path.hasSuffix(".txt") || path.hasSuffix(".md") {
                out.append(path)
            }
        }
        return out
    }

    /// A document id from the file path: letters, digits, '.', '-', '_' (others become '-'), at most 128.
    static func documentID(_ path: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        let mapped = String(path.map { allowed.contains($0) ? $0 : "-" }).trimmingCharacters(in: CharacterSet(charactersIn: ".-"))
        return String(mapped.suffix(128))
    }

    func upload(_ file: String, key: String) async throws -> Int {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("not UTF-8 text")
        }
        let title = text.split(separator: "\n").first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) }
            ?? ((file as NSString).lastPathComponent)
        let body: [String: Any] = [
            "id": Self.documentID(file), "title": title, "text": text, "data_class": dataClass, "metadata": ["source": "sealgate ingest"],
        ]
        var request = HTTPClientRequest(url: url + "/v1/collections/\(collection)/documents")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let reply = try await response.body.collect(upTo: 1 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.readableBytesView))) as? [String: Any]
        guard response.status.code == 201 else {
            throw ValidationError("HTTP \(response.status.code) \(object?["type"] as? String ?? ""): \(object?["detail"] as? String ?? "")")
        }
        return object?["chunks"] as? Int ?? 0
    }

    func progress(_ done: Int, _ total: Int, _ name: String) {
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let label = name.count > 40 ? "…" + name.suffix(39) : name
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(label)\u{1B}[K".utf8))
    }
}
