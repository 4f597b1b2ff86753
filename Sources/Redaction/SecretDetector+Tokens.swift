/// Prefixed tokens: cloud, source-hosting, chat, payment and model-provider keys, and JWTs.
extension SecretDetector {
    /// The end of a prefixed token starting at `i`, or 0.
    func token(_ t: [Unicode.Scalar], _ i: Int) -> Int {
        let n = t.count
        func bounded(_ end: Int) -> Int { boundedToken(t, end, hyphen: false) }
        switch t[i] {
        case "A":
            for p in Self.awsPrefixes where hasPrefix(t, at: i, p) {
                let r = run(t, i + 4, limit: 17) { isUpper($0) || isDigit($0) }
                return r == 16 ? bounded(i + 20) : 0
            }
            if hasPrefix(t, at: i, "AIza") {
                let r = run(t, i + 4, limit: 36, Self.isBase64URL)
                return r == 35 ? bounded(i + 39) : 0
            }
        case "g":
            // GitLab personal access tokens.
            if hasPrefix(t, at: i, "glpat-") {
                let r = run(t, i + 6, limit: 256, Self.isBase64URL)
                return r >= 20 ? boundedToken(t, i + 6 + r) : 0
            }
            if hasPrefix(t, at: i, "github_pat_") {
                let r = run(t, i + 11, limit: 256) { isASCIIAlnum($0) || $0 == "_" }
                return r >= 22 ? bounded(i + 11 + r) : 0
            }
            if i + 4 < n, t[i + 1] == "h", (t[i + 2] == "p" || t[i + 2] == "o" || t[i + 2] == "u" || t[i + 2] == "s" || t[i + 2] == "r"), t[i + 3] == "_" {
                let r = run(t, i + 4, limit: 256, isASCIIAlnum)
                return r >= 36 ? bounded(i + 4 + r) : 0
            }
        case "x":
            if hasPrefix(t, at: i, "xox"), i + 4 < n, ["a", "b", "p", "r", "s"].contains(t[i + 3]), t[i + 4] == "-" {
                let r = run(t, i + 5, limit: 256) { isASCIIAlnum($0) || $0 == "-" }
                return r >= 10 ? bounded(i + 5 + r) : 0
            }
        case "s", "r":
            if hasPrefix(t, at: i + 1, "k_live_") || hasPrefix(t, at: i + 1, "k_test_") {
                let r = run(t, i + 8, limit: 256, isASCIIAlnum)
                return r >= 10 ? bounded(i + 8 + r) : 0
            }
            // OpenAI (`sk-…`, `sk-proj-…`) and Anthropic (`sk-ant-…`) keys: 32+ base64url scalars, digits among them.
            if t[i] == "s", hasPrefix(t, at: i, "sk-") {
                let r = run(t, i + 3, limit: 512, Self.isBase64URL)
                return r >= 32 && digits(t, i + 3, i + 3 + r) >= 2 ? boundedToken(t, i + 3 + r) : 0
            }
        case "e":
            if hasPrefix(t, at: i, "eyJ") { return jwt(t, i) }
        default:
            break
        }
        return 0
    }

    /// `end` if no token scalar follows it (a token is not the front of a longer run); with `hyphen`, a `-` is a
    /// token scalar too (keys whose alphabet is base64url).
    @inline(__always) func boundedToken(_ t: [Unicode.Scalar], _ end: Int, hyphen: Bool = true) -> Int {
        end >= t.count || !(isASCIIAlnum(t[end]) || t[end] == "_" || (hyphen && t[end] == "-")) ? end : 0
    }

    @inline(__always) func digits(_ t: [Unicode.Scalar], _ from: Int, _ to: Int) -> Int {
        var count = 0
        for k in from..<to where isDigit(t[k]) { count += 1 }
        return count
    }

    /// `header.payload.signature` in base64url, header starting `eyJ`; the signature may be empty (`alg: none`).
    func jwt(_ t: [Unicode.Scalar], _ i: Int) -> Int {
        let n = t.count
        let h = run(t, i, limit: Self.jwtPartCap, Self.isBase64URL)
        guard h >= 10, i + h < n, t[i + h] == "." else { return 0 }
        let p = run(t, i + h + 1, limit: Self.jwtPartCap, Self.isBase64URL)
        guard p >= 10, i + h + 1 + p < n, t[i + h + 1 + p] == "." else { return 0 }
        let sigStart = i + h + p + 2
        let s = run(t, sigStart, limit: Self.jwtPartCap, Self.isBase64URL)
        return sigStart + s
    }
}
