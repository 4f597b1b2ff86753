import Attestation
import AttestationSEVSNP
import AttestationTDX
import Foundation
import SealgateCore
import Testing
import X509

/// Inputs the fuzz harnesses (FuzzTests/) found; each must be a typed rejection, never a crash or a hang.
@Suite("Fuzz findings stay fixed")
struct FuzzRegressionTests {
    @Test("An AMD certificate whose SPL extension is a negative INTEGER reads as absent, not a trap")
    func negativeSPL() throws {
        let hex = "3054304202010130003000301e170d3235303130313030303030305a170d3235303130313030303030305a30003000a31530133011060a2b060104019c7801030104030201ff300b06092a864886f70d01010a030100"
        let certificate = try AMDCertificate(der: try #require(Hex.decode(hex)))
        #expect(certificate.integerExtension("1.3.6.1.4.1.3704.1.3.1") == nil)
    }

    @Test(
        "TDX collateral with a signing chain that is not PEM certificates is a typed rejection",
        .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
    func untypedSigningChain() throws {
        let tdx = SharedVectors.root.appendingPathComponent("tdx")
        let root = try Certificate(
            pemEncoded: try String(contentsOf: tdx.appendingPathComponent("roots/intel-sgx-root-ca.pem"), encoding: .utf8))
        let collateral = tdx.appendingPathComponent("v4-phala/collateral")
        let tcbInfo = try Data(contentsOf: collateral.appendingPathComponent("tcb_info.json"))
        let qeIdentity = try Data(contentsOf: collateral.appendingPathComponent("qe_identity.json"))
        #expect(throws: AttestationError.self) {
            _ = try TDXTCBInfo(json: tcbInfo, signingChainPEM: "-----BEGIN -----\n", root: root, at: Date())
        }
        #expect(throws: AttestationError.self) {
            _ = try TDXQEIdentity(json: qeIdentity, signingChainPEM: "-----BEGIN -----\n", root: root, at: Date())
        }
    }
}
