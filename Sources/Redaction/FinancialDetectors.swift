/// Payment card numbers: 12–19 digits, contiguous or grouped by one consistent separator (space or hyphen),
/// passing Luhn and matching a known scheme: Visa, Mastercard (51–55 and 2-series 2221–2720), American Express,
/// Discover, Diners Club, JCB, UnionPay, Maestro. Fail closed: any other Luhn-valid 16-digit number is treated as a
/// card too (issuer ranges change; a 16-digit Luhn-valid number is rarely anything else).
public struct CardNumberDetector: Detector {
    public let label = "CREDIT_CARD"
    public let priority = 90
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        var i = 0
        let n = t.count
        while i < n {
            i = skip(t, i) { $0 &- 48 < 10 }
            guard i < n else { break }
            guard leftBoundary(t, i), i == 0 || !(t[i - 1] == "-" || t[i - 1] == "." || t[i - 1] == "_") else {
                while i < n, isDigit(t[i]) { i += 1 }
                continue
            }
            digits.removeAll(keepingCapacity: true)
            var j = i
            var end = i
            var separator: Unicode.Scalar? = nil
            while j < n {
                let s = t[j]
                if isDigit(s) {
                    digits.append(UInt8(s.value - 48))
                    j += 1
                    end = j
                    if digits.count > 19 { break }
                } else if (s == " " || s == "-"), j + 1 < n, isDigit(t[j + 1]), separator == nil || separator == s {
                    separator = s
                    j += 1
                } else {
                    break
                }
            }
            if digits.count <= 19, rightBoundary(t, end), Self.plausible(digits), Self.luhn(digits) {
                spans.append(DetectedSpan(start: i, end: end, label: label))
            }
            i = max(end, i + 1)
        }
        return spans
    }

    /// Whether the length and leading digits belong to a card scheme.
    static func plausible(_ d: [UInt8]) -> Bool {
        let len = d.count
        guard len >= 12, len <= 19 else { return false }
        let p2 = Int(d[0]) * 10 + Int(d[1])
        let p4 = p2 * 100 + Int(d[2]) * 10 + Int(d[3])
        switch d[0] {
        case 4: return len == 13 || len == 16 || len == 19
        case 5 where (51...55).contains(p2): return len == 16
        case 2 where (2221...2720).contains(p4): return len == 16
        case 3 where p2 == 34 || p2 == 37: return len == 15
        case 3 where p2 == 36 || p2 == 38 || p2 == 39 || (3000...3059).contains(p4): return len >= 14
        case 3 where (3528...3589).contains(p4): return len >= 16
        case 6 where p4 == 6011 || p2 == 65 || (644...649).contains(p4 / 10) || p2 == 62: return len >= 16
        case 5, 6: return len >= 12  // Maestro 50, 56–69
        default: return len == 16
        }
    }

    /// The Luhn (mod 10) check.
    public static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        var double = false
        for digit in digits.reversed() {
            var d = Int(digit)
            if double {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
            double.toggle()
        }
        return sum % 10 == 0
    }
}

/// IBANs: country code, two check digits and the BBAN, contiguous or in groups of four separated by single spaces;
/// the length must match the country's (SWIFT IBAN registry) and the mod-97 check must give 1.
public struct IBANDetector: Detector {
    public let label = "IBAN"
    public let priority = 95
    public init() {}

    /// IBAN lengths per country code.
    public static let lengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
        "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
        "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
        "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
        "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
        "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
        "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25,
        "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    ]

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var chars: [Unicode.Scalar] = []
        chars.reserveCapacity(40)
        let n = t.count
        var i = 0
        while i + 15 <= n {
            i = skip(t, i) { $0 &- 65 < 26 }
            guard i + 15 <= n else { break }
            guard isUpper(t[i]), isUpper(t[i + 1]), isDigit(t[i + 2]), isDigit(t[i + 3]), leftBoundary(t, i) else {
                i += 1
                continue
            }
            let cc = String(String.UnicodeScalarView([t[i], t[i + 1]]))
            guard let length = Self.lengths[cc] else {
                i += 1
                continue
            }
            chars.removeAll(keepingCapacity: true)
            var j = i
            var end = i
            while j < n, chars.count < length {
                let s = t[j]
                if isDigit(s) || isUpper(s) {
                    chars.append(s)
                    j += 1
                    end = j
                } else if s == " ", chars.count % 4 == 0, j + 1 < n, isASCIIAlnum(t[j + 1]) {
                    j += 1
                } else {
                    break
                }
            }
            if chars.count == length, rightBoundary(t, end), Self.mod97(chars) == 1 {
                spans.append(DetectedSpan(start: i, end: end, label: label))
                i = end
            } else {
                i += 1
            }
        }
        return spans
    }

    /// ISO 7064 mod 97-10 of an IBAN (country and check digits moved to the end, letters as 10–35).
    static func mod97(_ c: [Unicode.Scalar]) -> Int {
        var r = 0
        for k in 0..<c.count {
            let s = c[(k + 4) % c.count]
            let v = isDigit(s) ? Int(s.value) - 48 : Int(s.value) - 55
            r = v < 10 ? (r * 10 + v) % 97 : (r * 100 + v) % 97
        }
        return r
    }
}
