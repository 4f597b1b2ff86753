import ArgumentParser
import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import NIOCore
import SealgateServer

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest .txt and .md files and folders through a running gateway's API.",
        discussion: """
            The tenant is always the API key's. Without --api-key or SEALGATE_API_KEY, the key of --tenant is read \
            from <data-dir>/demo-credentials.json. A file in a folder gets the id of its path relative to that folder \
            (notes/sub/a.md from `ingest notes` is sub-a.md), a file given alone the id of its name, however the path \
            is typed; ingesting again replaces the document. Files that are not .txt or .md, empty, not UTF-8 or \
            hidden are skipped and listed on stderr; the progress bar is drawn only when stderr is a terminal. Exit \
            status 1 when an upload fails.
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
        let (files, skipped) = try collectFiles()
        for skip in skipped { FileHandle.standardError.write(Data("skipped \(skip.path): \(skip.reason)\n".utf8)) }
        guard !files.isEmpty else {
            throw RuntimeFailure("no .txt or .md files to ingest in \(paths.joined(separator: " ")) (\(skipped.count) skipped)")
        }
        // A bar redrawn with \r only on a terminal; logs and pipes get one line per failure and the summary.
        let showProgress = isatty(2) == 1
        var failed = 0
        var chunks = 0
        for (n, file) in files.enumerated() {
            if showProgress { progress(n, files.count, file.path) }
            do {
                chunks += try await upload(file, key: key)
            } catch let failure as RuntimeFailure where failure.unreachable {
                // Every other file would fail the same way: stop with the one message.
                if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
                throw failure
            } catch {
                failed += 1
                FileHandle.standardError.write(Data("\(showProgress ? "\n" : "")\(file.path): \(error)\n".utf8))
            }
        }
        if showProgress {
            progress(files.count, files.count, "")
            FileHandle.standardError.write(Data("\n".utf8))
        }
        let skippedNote = skipped.isEmpty ? "" : "; \(skipped.count) skipped"
        print("ingested \(files.count - failed) of \(files.count) files (\(chunks) chunks) into \(collection) as \(dataClass)\(skippedNote)")
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
        else { throw RuntimeFailure("no API key: pass --api-key, set SEALGATE_API_KEY, or run `sealgate serve --demo` first (it writes \(dataDir)/demo-credentials.json)") }
        return entry.api_key
    }

    /// A file to upload: the path as given (for messages) and its document id.
    struct Candidate {
        let path: String
        let id: String
        let text: String
    }

    /// The files to upload and the ones passed over, with why. A file in a folder argument gets the id of its path
    /// relative to that folder; a file argument the id of its name. So `./notes`, `notes/` and `/abs/notes` (and
    /// `notes/a.md` given alone) give `a.md` the same id from any working directory.
    /// - Throws: ``RuntimeFailure`` when an argument does not exist.
    func collectFiles() throws -> (files: [Candidate], skipped: [(path: String, reason: String)]) {
        var files: [Candidate] = []
        var skipped: [(path: String, reason: String)] = []
        var seen: [String: String] = [:]
        let fm = FileManager.default
        func consider(_ path: String, relative: String) {
            guard path.hasSuffix(".txt") || path.hasSuffix(".md") else { return skipped.append((path, "not a .txt or .md file")) }
            guard let data = fm.contents(atPath: path) else { return skipped.append((path, "cannot be read")) }
            guard let text = String(data: data, encoding: .utf8) else { return skipped.append((path, "not UTF-8 text")) }
            guard !text.allSatisfy(\.isWhitespace) else { return skipped.append((path, "empty")) }
            let id = Self.documentID(relative)
            if let first = seen[id] { return skipped.append((path, "same document id \(id) as \(first)")) }
            seen[id] = path
            files.append(Candidate(path: path, id: id, text: text))
        }
        for argument in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: argument, isDirectory: &isDir) else {
                throw RuntimeFailure("\(argument) does not exist (paths are relative to \(fm.currentDirectoryPath))")
            }
            guard isDir.boolValue else {
                consider(argument, relative: (argument as NSString).lastPathComponent)
                continue
            }
            let root = URL(fileURLWithPath: argument).standardizedFileURL.path
            guard let walker = fm.enumerator(atPath: root) else { throw RuntimeFailure("cannot list the folder \(argument)") }
            var items: [String] = []
            while let item = walker.nextObject() as? String {
                let name = (item as NSString).lastPathComponent
                var isFolder: ObjCBool = false
                _ = fm.fileExists(atPath: root + "/" + item, isDirectory: &isFolder)
                if name.hasPrefix(".") {
                    if isFolder.boolValue { walker.skipDescendants() }
                    skipped.append((Self.join(argument, item) + (isFolder.boolValue ? "/" : ""), "hidden"))
                } else if !isFolder.boolValue {
                    items.append(item)
                }
            }
            for item in items.sorted() { consider(Self.join(argument, item), relative: item) }
        }
        return (files, skipped)
    }

    /// `folder/item` without doubled slashes, for messages.
    static func join(_ folder: String, _ item: String) -> String { folder.hasSuffix("/") ? folder + item : folder + "/" + item }

    /// A document id from a relative path: letters, digits, '.', '-', '_' (others become '-'), at most 128.
    static func documentID(_ path: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        let mapped = String(path.map { allowed.contains($0) ? $0 : "-" }).trimmingCharacters(in: CharacterSet(charactersIn: ".-"))
        return String(mapped.suffix(128))
    }

    func upload(_ file: Candidate, key: String) async throws -> Int {
        let title = file.text.split(separator: "\n").first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) }
            ?? ((file.path as NSString).lastPathComponent)
        let body: [String: Any] = [
            "id": file.id, "title": title, "text": file.text, "data_class": dataClass, "metadata": ["source": "sealgate ingest"],
        ]
        var request = HTTPClientRequest(url: url + "/v1/collections/\(collection)/documents")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let (response, reply) = try await RemoteLog.execute(request, gateway: url, timeout: .seconds(120), limit: 1 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.readableBytesView))) as? [String: Any]
        guard response.status.code == 201 else {
            let hint = response.status.code == 401 ? " (the API key is wrong: pass --api-key or SEALGATE_API_KEY)" : ""
            throw RuntimeFailure("HTTP \(response.status.code) \(object?["type"] as? String ?? ""): \(object?["detail"] as? String ?? "")\(hint)")
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
