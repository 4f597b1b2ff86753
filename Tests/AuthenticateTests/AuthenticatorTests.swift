import Authenticate
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

struct TestContext: AuthenticatedRequestContext {
    var coreContext: CoreRequestContextStorage
    var identity: String?
    init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
}

@Suite("Authenticator middleware")
struct AuthenticatorTests {
    static func application() -> some ApplicationProtocol {
        let table = CredentialTable([(CredentialDigest.hex("good-key"), "alice")])
        let router = Router(context: TestContext.self)
        router.get("/open") { _, _ in "open" }
        let guarded = router.group().add(
            middleware: Authenticator<TestContext>(
                resolve: { table.identity(for: $0) },
                refuse: { refusal, _, _ in
                    let reason: String
                    switch refusal {
                    case .unknown: reason = "unknown"
                    case .unavailable: reason = "unavailable"
                    case .credential(let problem): reason = "\(problem)"
                    }
                    return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: reason)))
                }))
        guarded.get("/who") { _, context in context.identity ?? "nobody" }
        let failing = router.group().add(
            middleware: Authenticator<TestContext>(
                resolving: { _ in .unavailable },
                refuse: { refusal, _, _ in Response(status: refusal == .unavailable ? .serviceUnavailable : .unauthorized) }))
        failing.get("/store-down") { _, _ in "reached" }
        return Application(router: router)
    }

    @Test("A known credential reaches the route with its identity; refusals never do")
    func routes() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/who", method: .get, headers: [.authorization: "bearer good-key"]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "alice")
            }
            try await client.execute(uri: "/who", method: .get, headers: [.authorization: "Bearer bad-key"]) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body) == "unknown")
            }
            try await client.execute(uri: "/who", method: .get) { response in
                #expect(String(buffer: response.body) == "missing")
            }
            var two = HTTPFields()
            two.append(HTTPField(name: .authorization, value: "Bearer good-key"))
            two.append(HTTPField(name: .authorization, value: "Bearer good-key"))
            try await client.execute(uri: "/who", method: .get, headers: two) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body) == "malformed")
            }
            try await client.execute(uri: "/store-down", method: .get, headers: [.authorization: "Bearer good-key"]) { response in
                #expect(response.status == .serviceUnavailable)
            }
            try await client.execute(uri: "/open", method: .get) { response in
                #expect(String(buffer: response.body) == "open")
            }
        }
    }
}
