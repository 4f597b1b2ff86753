import Authenticate
import HTTPTypes
import Testing

@Suite("One bearer parser (RFC 6750)")
struct BearerCredentialTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let value: String
        let expected: Result<String, BearerCredentialProblem>
        var testDescription: String { "'\(value)'" }
    }

    static let cases: [Case] = [
        Case(value: "Bearer sg_abc123", expected: .success("sg_abc123")),
        Case(value: "bearer sg_abc123", expected: .success("sg_abc123")),
        Case(value: "BEARER sg_abc123", expected: .success("sg_abc123")),
        Case(value: "Bearer   sg_abc123  ", expected: .success("sg_abc123")),
        Case(value: "\tBearer eyJhbGciOi.eyJzdWIi.c2ln", expected: .success("eyJhbGciOi.eyJzdWIi.c2ln")),
        Case(value: "Bearer abc+/~-._==", expected: .success("abc+/~-._==")),
        Case(value: "", expected: .failure(.missing)),
        Case(value: "Basic dXNlcjpwYXNz", expected: .failure(.wrongScheme)),
        Case(value: "Bearersg_abc", expected: .failure(.wrongScheme)),
        Case(value: "Bear", expected: .failure(.wrongScheme)),
        Case(value: "Bearer", expected: .failure(.empty)),
        Case(value: "Bearer    ", expected: .failure(.empty)),
        Case(value: "Bearer one two", expected: .failure(.malformed)),
        Case(value: "Bearer one,two", expected: .failure(.malformed)),
        Case(value: "Bearer ab=c", expected: .failure(.malformed)),
        Case(value: "Bearer ===", expected: .failure(.malformed)),
        Case(value: "Bearer k\u{e9}y", expected: .failure(.malformed)),
        Case(value: "Bearer\tsg_abc", expected: .failure(.wrongScheme)),
    ]

    @Test("Field values", arguments: cases)
    func fieldValue(_ c: Case) {
        #expect(BearerCredential.parse(c.value) == c.expected)
    }

    @Test("No Authorization field is a missing credential")
    func missingField() {
        #expect(BearerCredential.parse(HTTPFields()) == .failure(.missing))
    }

    @Test("Two Authorization fields are refused, even when both hold the same valid credential")
    func twoFields() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .authorization, value: "Bearer sg_abc"))
        fields.append(HTTPField(name: .authorization, value: "Bearer sg_abc"))
        #expect(BearerCredential.parse(fields) == .failure(.malformed))
        var single = HTTPFields()
        single[.authorization] = "Bearer sg_abc"
        #expect(BearerCredential.parse(single) == .success("sg_abc"))
    }
}

@Suite("Credential table")
struct CredentialTableTests {
    @Test("Tokens resolve by their SHA-256; unknown, altered and prefix tokens do not")
    func lookup() {
        let table = CredentialTable([(CredentialDigest.hex("alpha-key"), "alpha"), (CredentialDigest.hex("beta-key").uppercased(), "beta")])
        #expect(table.count == 2)
        #expect(table.identity(for: "alpha-key") == "alpha")
        #expect(table.identity(for: "beta-key") == "beta")
        #expect(table.identity(for: "alpha-ke") == nil)
        #expect(table.identity(for: "alpha-keY") == nil)
        #expect(table.identity(for: "") == nil)
    }

    @Test("Malformed stored digests are skipped, never matched")
    func malformedDigests() {
        let table = CredentialTable([("zz", "bad"), (String(repeating: "g", count: 64), "bad"), (CredentialDigest.hex("k"), "good")])
        #expect(table.count == 1)
        #expect(table.identity(for: "k") == "good")
    }

    @Test("SHA-256 known answer (FIPS 180-2 'abc')")
    func digest() {
        #expect(CredentialDigest.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("Constant-time equality compares whole values")
    func equality() {
        #expect(CredentialTable<Int>.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!CredentialTable<Int>.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!CredentialTable<Int>.constantTimeEqual([9, 2, 3], [1, 2, 3]))
        #expect(!CredentialTable<Int>.constantTimeEqual([1, 2], [1, 2, 3]))
    }
}
