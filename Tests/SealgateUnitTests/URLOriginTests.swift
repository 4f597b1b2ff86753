import SealgateCore
import Testing

@Suite("URLOrigin: what of a configured URL may be logged")
struct URLOriginTests {
    @Test("Credentials in user information, path or query never come out; scheme, host and port do")
    func origin() {
        #expect(URLOrigin.of("https://user:s3cret@hooks.example.com:8443/services/T000/B000/XXXX?token=abc") == "https://hooks.example.com:8443")
        #expect(URLOrigin.of("http://127.0.0.1:8081") == "http://127.0.0.1:8081")
        #expect(URLOrigin.of("https://[::1]:9000/path") == "https://[::1]:9000")
        #expect(URLOrigin.of("not a url with a s3cret") == "(unparsable URL)")
        #expect(!URLOrigin.of("https://a:b@h/x?y=z").contains("b@") && !URLOrigin.of("https://h/x?token=t").contains("token"))
    }
}
