import Foundation
import SealgateCore
import Testing

@Suite("Base64url without padding (RFC 4648 §5), canonical form only")
struct Base64URLTests {
    @Test("RFC 4648 §10 test vectors, in the URL alphabet and without padding")
    func vectors() {
        let cases = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in cases {
            #expect(Base64URL.encode(Data(plain.utf8)) == encoded)
            #expect(Base64URL.decode(encoded) == Data(plain.utf8))
        }
        #expect(Base64URL.encode(Data([0xfb, 0xff, 0xbf])) == "-_-_")
        #expect(Base64URL.decode("-_-_") == Data([0xfb, 0xff, 0xbf]))
    }

    @Test("Padding, the standard alphabet, stray characters, impossible lengths and non-canonical bits are refused")
    func refusals() {
        for text in ["Zg==", "Zm8=", "+/+/", "Zm9v\n", "Zm 9v", "Z", "Zm9vY", "Zh", "Zm9", "é", "Zm9v=", "Zm9vYmFy "] {
            #expect(Base64URL.decode(text) == nil, "\(text)")
        }
    }

    @Test("Round trips agree with Foundation's base64 for random bytes of every length up to 70")
    func roundTrips() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...70 {
            for _ in 0..<20 {
                let bytes = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
                let text = Base64URL.encode(bytes)
                let reference = bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
                #expect(text == reference)
                #expect(Base64URL.decode(text) == bytes)
            }
        }
    }
}
