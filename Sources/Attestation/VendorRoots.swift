import Crypto
import Foundation
import SealgateCore

/// The hardware vendors' root certificates, pinned by the SHA-256 of their DER encoding. Roots are public facts:
/// each fingerprint below was computed from the vendor's published certificate and cross-checked against an
/// independent copy (see `docs/vendor-roots.md` for sources).
public enum VendorRoots {
    /// AMD SEV-SNP ARKs (AMD KDS `cert_chain`; the same certificates ship with virtee/sev and go-sev-guest).
    public static let amdARKs: Set<String> = [
        "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",  // ARK-Milan
        "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",  // ARK-Genoa
        "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",  // ARK-Turin
    ]

    /// AWS Nitro Enclaves Root-G1 (AWS_NitroEnclaves_Root-G1.zip; AWS publishes this fingerprint).
    public static let awsNitro: Set<String> = ["641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"]

    /// Intel SGX Root CA (Intel PCS; the same certificate is the root of every PCK chain).
    public static let intelSGX: Set<String> = ["44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"]

    /// NVIDIA Device Identity CA, the root of every H100 device chain (NVIDIA/nvtrust `verifier_device_root.pem`).
    public static let nvidiaDeviceIdentity: Set<String> = ["102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"]

    /// Hex SHA-256 of DER bytes.
    public static func fingerprint<D: DataProtocol>(_ der: D) -> String { Hex.encode(SHA256.hash(data: der)) }
}
