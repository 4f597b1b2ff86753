import Redaction
import Testing

/// Runs one detector and returns the matched substrings.
func found(_ detector: some Detector, in text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    return detector.detect(scalars).map { span in
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[span.start..<span.end])
        return String(view)
    }
}

@Suite("Detectors: positives and validator negatives")
struct DetectorTests {
    @Test("E-mail addresses, including internationalised ones")
    func email() {
        #expect(found(EmailDetector(), in: "mail jane.doe+x@mail.example.org, or björk@café.example.") == ["jane.doe+x@mail.example.org", "björk@café.example"])
        #expect(found(EmailDetector(), in: "@home, a@b, user@host.c0m, @@@").isEmpty)
    }

    @Test("Card numbers: schemes and Luhn", arguments: [
        "4111 1111 1111 1111", "5555-5555-5555-4444", "2221 0000 0000 0009", "3782 822463 10005", "6011111111111117",
        "3530111333300000", "36227206271667",
    ])
    func cards(_ number: String) {
        #expect(found(CardNumberDetector(), in: "card \(number).") == [number])
    }

    @Test("Card-like numbers failing Luhn or mixing separators are not cards", arguments: [
        "4111 1111 1111 1112", "1234-5678-9012-3456", "4111-1111 1111-1111", "41111111111111111111",
    ])
    func notCards(_ number: String) {
        #expect(found(CardNumberDetector(), in: "ref \(number) here").isEmpty)
    }

    @Test("IBANs: country lengths and mod-97")
    func iban() {
        let ok = ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR1420041010050500013M02606", "NL91ABNA0417164300"]
        for iban in ok { #expect(found(IBANDetector(), in: "pay to \(iban).") == [iban]) }
        // Bad checksum, wrong length for the country, unknown country.
        for bad in ["DE89 3704 0044 0532 0130 01", "DE89370400440532013", "ZZ89370400440532013000"] {
            #expect(found(IBANDetector(), in: "pay to \(bad).").isEmpty)
        }
    }

    @Test("SSNs: valid numbers, and invalid areas, groups and serials rejected")
    func ssn() {
        #expect(found(SSNDetector(), in: "SSN 123-45-6789 or 123 45 6789, ssn: 123456789") == ["123-45-6789", "123 45 6789", "123456789"])
        for bad in ["000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000", "123-45 6789"] {
            #expect(found(SSNDetector(), in: "SSN \(bad).").isEmpty, "\(bad)")
        }
        #expect(found(SSNDetector(), in: "order 123456789 shipped").isEmpty)
    }

    @Test("IP addresses: IPv4 octets and IPv6 forms")
    func ip() {
        #expect(found(IPAddressDetector(), in: "from 10.0.0.1, 192.168.1.254:8080 and 255.255.255.255.") == ["10.0.0.1", "192.168.1.254", "255.255.255.255"])
        #expect(found(IPAddressDetector(), in: "v6 2001:db8::1 and ::1 and fe80::1ff:fe23:4567:890a and ::ffff:10.0.0.1 and 2001:0db8:85a3:0000:0000:8a2e:0370:7334") ==
            ["2001:db8::1", "::1", "fe80::1ff:fe23:4567:890a", "::ffff:10.0.0.1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"])
        for bad in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "v1.2.3.4", "12:30:45", "1::2::3", "std::vector", "00:1A:2B:3C:4D:5E"] {
            #expect(found(IPAddressDetector(), in: "x \(bad) y").isEmpty, "\(bad)")
        }
    }

    @Test("Phone numbers: national and international formats, extensions")
    func phone() {
        let ok = ["(415) 555-0199", "206-648-3358", "619.709.5866", "+1-650-577-2881", "+44 20 7946 0321", "020 7946 0321",
                  "+4915112345678", "201-589-4673 ext. 2395"]
        for number in ok { #expect(found(PhoneDetector(), in: "call \(number) now") == [number], "\(number)") }
        for bad in ["2024-07-01", "192.168.185.11", "12345", "v2.3.1", "1234567890", "14:20"] {
            #expect(found(PhoneDetector(), in: "x \(bad) y").isEmpty, "\(bad)")
        }
    }

    @Test("Phone numbers with other separators, dial-out prefixes and attached extensions", arguments: [
        "555/123/4567", "(555)123-4567", "+1 555 123 4567", "555.123.4567", "555 123 4567", "555-123.4567",
        "+1 (555) 123-4567", "1-555-123-4567", "001-555-123-4567", "0044 20 7946 0321", "555-123-4567x89",
        "(555)123-4567x1234", "555.123.4567 ext. 12", "555 123 4567 x 204", "555-123-4567 extension 7", "030/1234567",
        "555\u{2013}123\u{2013}4567",
    ])
    func phoneSeparators(_ number: String) {
        #expect(found(PhoneDetector(), in: "call \(number) now") == [number], "\(number)")
        #expect(found(PhoneDetector(), in: "Phone:\(number)") == [number], "\(number)")
    }

    @Test("Slashed and colon-led numbers that are not phones", arguments: [
        "12/25/2024", "1234/5678/90", "path/555/123/4567", "14:20:45", "fe80::1:2065550143", "3/4", "v1.2.3",
    ])
    func notPhones(_ text: String) {
        #expect(found(PhoneDetector(), in: "x \(text) y").isEmpty, "\(text)")
    }

    @Test("URLs without trailing punctuation")
    func url() {
        #expect(found(URLDetector(), in: "see https://example.com/a?b=1. Or (www.example.org/x), ftp://files.example.net/f.") ==
            ["https://example.com/a?b=1", "www.example.org/x", "ftp://files.example.net/f"])
        #expect(found(URLDetector(), in: "http:// and www. alone").isEmpty)
    }

    @Test("Dates: numeric and written forms")
    func dates() {
        let text = "On 2024-07-01, 07/01/2024, Jul 1, 2024, 1 July 2024, July 1st, 1st of July, Sept. 5 2024 and 31.12.2023."
        #expect(found(DateDetector(), in: text) == ["2024-07-01", "07/01/2024", "Jul 1, 2024", "1 July 2024", "July 1st", "1st of July", "Sept. 5 2024", "31.12.2023"])
        for bad in ["2024-13-01", "13/13/2024", "rated 3/5", "may 5", "v1.2.2024", "Mayday 5"] {
            #expect(found(DateDetector(), in: "x \(bad) y").isEmpty, "\(bad)")
        }
    }

    @Test("Secrets: provider formats, JWT, PEM, key-like assignments, URL passwords")
    func secrets() {
        let tokens = [
            "AKIAIOSFODNN7EXAMPLE", "ghp_" + String(repeating: "a1B2", count: 9), "xoxb-123456789012-abcdefABCDEF",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        ]
        for token in tokens { #expect(found(SecretDetector(), in: "token \(token) end") == [token], "\(token)") }
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234abcd\n-----END RSA PRIVATE KEY-----"
        #expect(found(SecretDetector(), in: "key:\n\(pem)\nafter") == [pem])
        #expect(found(SecretDetector(), in: "password = \"hunter22\"\napi_key: Zx9QwErTy7UiOp3AsDfG") == ["hunter22", "Zx9QwErTy7UiOp3AsDfG"])
        #expect(found(SecretDetector(), in: "postgres://app:s3cr3t!@db.example.com/x") == ["s3cr3t!"])
        // Placeholders, low-entropy values, non-assignments and public certificates are not secrets.
        for text in ["password = ${DB_PASSWORD}", "api_key: your_api_key_here", "the key is in the drawer", "token: string",
                     "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "AKIA1234", "sk_live_short"] {
            #expect(found(SecretDetector(), in: text).isEmpty, "\(text)")
        }
    }

    @Test("Person names: dictionary and context")
    func person() {
        #expect(found(PersonDetector(), in: "Dear Dr. Barton, I met Lauren Klein and Mr. Okonkwo.") == ["Barton", "Lauren Klein", "Okonkwo"])
        #expect(found(PersonDetector(), in: "From: Zebulon Quist <z@example.com>\nThanks,\nXander\n") == ["Zebulon Quist", "Xander"])
        #expect(found(PersonDetector(), in: "Dear Team, The Patient Portal opens in May. New York is big.").isEmpty)
    }
}
