import Crypto
import Foundation
import Testing

/// `sealgate sigstore verify-bundle`, `model verify` and `image verify` as a user runs them.
@Suite("sealgate sigstore/model/image verify: exit 0 only on success, reasons on stderr, 64 for usage")
struct SigstoreCLITests {
    static let dir = sharedVectors + "/sigstore"
    static let v3 = ["--bundle", dir + "/blob/bundle_v3.txt.sigstore", "--certificate-identity", "william@yossarian.net"]

    @Test("verify-bundle: a real bundle verifies with the embedded staging root and with --trusted-root", .enabled(if: sharedVectorsPresent("sigstore"), "../shared/vectors/sigstore is absent: the CLI cannot be run on real bundles"))
    func verifyBundle() throws {
        let issuer = ["--certificate-oidc-issuer", "https://github.com/login/oauth"]
        let embedded = try runSealgateSplit(["sigstore", "verify-bundle", "--staging"] + Self.v3 + issuer + [Self.dir + "/blob/bundle_v3.txt"])
        #expect(embedded.status == 0 && embedded.stdout.hasPrefix("OK: "), "\(embedded)")
        let root = ["--trusted-root", Self.dir + "/roots/trusted_root.staging.json"]
        let file = try runSealgateSplit(["sigstore", "verify-bundle"] + Self.v3 + issuer + root + [Self.dir + "/blob/bundle_v3.txt"])
        #expect(file.status == 0, "\(file)")
        let production = try runSealgateSplit(["sigstore", "verify-bundle"] + Self.v3 + issuer + [Self.dir + "/blob/bundle_v3.txt"])
        #expect(production.status == 1 && production.stderr.contains("refused (unknown_tlog)"), "\(production)")
        let san = try runSealgateSplit(["sigstore", "verify-bundle", "--staging", "--bundle", Self.dir + "/blob/bundle_v3.txt.sigstore",
            "--certificate-identity", "someone@example.com"] + issuer + [Self.dir + "/blob/bundle_v3.txt"])
        #expect(san.status == 1 && san.stderr.contains("refused (identity_mismatch)"), "\(san)")
        let regexp = try runSealgateSplit(["sigstore", "verify-bundle", "--staging", "--bundle", Self.dir + "/blob/bundle_v3.txt.sigstore",
            "--certificate-identity-regexp", ".*@yossarian\\.net", "--certificate-oidc-issuer-regexp", "https://github\\.com/.*",
            Self.dir + "/blob/bundle_v3.txt"])
        #expect(regexp.status == 0, "\(regexp)")
        let dsse = try runSealgateSplit(["sigstore", "verify-bundle", "--staging", "--bundle", Self.dir + "/dsse/a.dsse.staging-rekor-v2.txt.sigstore.json",
            "--certificate-identity", "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
            "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
            "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"])
        #expect(dsse.status == 0, "\(dsse)")
    }

    @Test("verify-bundle: usage errors exit 64")
    func usage() throws {
        #expect(try runSealgateSplit(["sigstore", "verify-bundle", "--bundle", "b", "f"]).status == 64)
        #expect(try runSealgateSplit(["sigstore", "verify-bundle", "--bundle", "b", "--certificate-identity", "x", "f"]).status == 64)
        #expect(try runSealgateSplit(["sigstore", "verify-bundle", "--bundle", "b", "--key", "k", "--certificate-identity", "x",
            "--certificate-oidc-issuer", "y", "f"]).status == 64)
        let missing = try runSealgateSplit(["sigstore", "verify-bundle", "--bundle", "/nonexistent", "--key", "/nonexistent", "f"])
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent"), "\(missing)")
    }

    @Test("model verify: key and certificate signatures by the model_signing tool; a changed file is refused", .enabled(if: sharedVectorsPresent("sigstore"), "../shared/vectors/sigstore is absent: the CLI cannot be run on real bundles"))
    func model() throws {
        let ok = try runSealgateSplit(["model", "verify", Self.dir + "/oms/key-ok/tiny-model", "--bundle", Self.dir + "/oms/key-ok/model.sig",
            "--key", Self.dir + "/oms/key-ok/signer.pub.pem"])
        #expect(ok.status == 0 && ok.stdout.contains("files match"), "\(ok)")
        let cert = try runSealgateSplit(["model", "verify", Self.dir + "/oms/cert-ok/tiny-model", "--bundle", Self.dir + "/oms/cert-ok/model.sig",
            "--certificate-chain", Self.dir + "/oms/cert-ok/ca-root.pem"])
        #expect(cert.status == 0, "\(cert)")
        let changed = try runSealgateSplit(["model", "verify", Self.dir + "/oms/key-modified-file/tiny-model", "--bundle",
            Self.dir + "/oms/key-modified-file/model.sig", "--key", Self.dir + "/oms/key-modified-file/signer.pub.pem", "--jobs", "1"])
        #expect(changed.status == 1 && changed.stderr.contains("refused (model_file_changed)"), "\(changed)")
    }

    @Test("image verify: an OCI layout with a keyed DSSE bundle attached as a referrer")
    func image() throws {
        let temp = try TempDir()
        defer { temp.remove() }
        let key = P256.Signing.PrivateKey()
        _ = try temp.write("key.pub.pem", key.publicKey.pemRepresentation)
        func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
        func blob(_ data: Data) throws -> String {
            _ = try temp.write("layout/blobs/sha256/\(hex(data))", "")
            try data.write(to: URL(fileURLWithPath: temp.path + "/layout/blobs/sha256/\(hex(data))"))
            return "sha256:\(hex(data))"
        }
        let manifest = Data(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#.utf8)
        let imageDigest = try blob(manifest)
        let statement = Data(#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"img","digest":{"sha256":"\#(hex(manifest))"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}"#.utf8)
        let pae = Data("DSSEv1 28 application/vnd.in-toto+json \(statement.count) ".utf8) + statement
        let signature = try key.signature(for: pae).derRepresentation
        let bundle = Data("""
            {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"k"},"tlogEntries":[]},
             "dsseEnvelope":{"payload":"\(statement.base64EncodedString())","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"\(signature.base64EncodedString())"}]}}
            """.utf8)
        let bundleDigest = try blob(bundle)
        let referrer = Data(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(imageDigest)","size":\#(manifest.count)},"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"\#(bundleDigest)","size":\#(bundle.count)}]}"#.utf8)
        let referrerDigest = try blob(referrer)
        let unsigned = #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(imageDigest)","size":\#(manifest.count)}]}"#
        _ = try temp.write("layout/index.json", unsigned)
        let none = try runSealgateSplit(["image", "verify", "--layout", temp.path + "/layout", "--key", temp.path + "/key.pub.pem"])
        #expect(none.status == 1 && none.stderr.contains("no Sigstore bundle"), "\(none)")
        let index = #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(imageDigest)","size":\#(manifest.count)},{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"\#(referrerDigest)","size":\#(referrer.count)}]}"#
        _ = try temp.write("layout/index.json", index)
        // Keyed and never logged: refused as cosign refuses it, accepted with cosign's --insecure-ignore-tlog.
        let unlogged = try runSealgateSplit(["image", "verify", "--layout", temp.path + "/layout", "--key", temp.path + "/key.pub.pem"])
        #expect(unlogged.status == 1 && unlogged.stderr.contains("refused (tlog_entry_missing)"), "\(unlogged)")
        let ok = try runSealgateSplit(["image", "verify", "--layout", temp.path + "/layout", "--key", temp.path + "/key.pub.pem", "--insecure-ignore-tlog"])
        #expect(ok.status == 0 && ok.stdout.contains(imageDigest), "\(ok)")
        // The same bundle through the conformance command, over the manifest as the artifact.
        _ = try temp.write("manifest.json", String(decoding: manifest, as: UTF8.self))
        let bundlePath = temp.path + "/layout/blobs/sha256/" + bundleDigest.dropFirst(7)
        let conformance = ["sigstore", "verify-bundle", "--bundle", bundlePath, "--key", temp.path + "/key.pub.pem", temp.path + "/manifest.json"]
        let strict = try runSealgateSplit(conformance)
        #expect(strict.status == 1 && strict.stderr.contains("refused (tlog_entry_missing)"), "\(strict)")
        #expect(try runSealgateSplit(conformance + ["--insecure-ignore-tlog"]).status == 0)
        let other = P256.Signing.PrivateKey()
        _ = try temp.write("other.pub.pem", other.publicKey.pemRepresentation)
        let wrong = try runSealgateSplit(["image", "verify", "--layout", temp.path + "/layout", "--key", temp.path + "/other.pub.pem", "--insecure-ignore-tlog"])
        #expect(wrong.status == 1 && wrong.stderr.contains("refused (signature_invalid)"), "\(wrong)")
        let byFile = try runSealgateSplit(["image", "verify", "--digest", imageDigest, "--bundle", temp.path + "/layout/blobs/sha256/" + bundleDigest.dropFirst(7),
            "--key", temp.path + "/key.pub.pem", "--insecure-ignore-tlog"])
        #expect(byFile.status == 0, "\(byFile)")
    }
}
