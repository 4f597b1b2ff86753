import Attestation
import Foundation
import SealgateCore

extension TDXTCBInfo {
    /// The TDX module's own status under TCB Info v3, as Intel's Quote Verification Library rates it: the module's
    /// signer (MRSIGNERSEAM) and masked attributes (SEAMATTRIBUTES) must be those the TCB Info names — `tdxModule`
    /// for a module of major version 0, the identity `TDX_<major>` of `tdxModuleIdentities` for a TDX 1.5+ module
    /// (TEE_TCB_SVN[1] > 0), whose status is then that of the first of its levels whose `isvsvn` TEE_TCB_SVN[0]
    /// meets. `nil` for a version 0 module: its SVN is one of the levels' TDX components.
    /// - Throws: ``AttestationError`` `measurement_unknown` for another module signer or attributes, or a module
    ///   version the TCB Info does not know.
    func moduleStatus(teeTCBSVN tee: [UInt8], mrSignerSEAM: Data, seamAttributes: Data) throws -> TCBStatus? {
        func matches(_ signer: String, _ attributes: String, _ mask: String) -> Bool {
            guard let wanted = Hex.decode(signer), let value = Hex.decode(attributes), let maskBytes = Hex.decode(mask),
                value.count == seamAttributes.count, maskBytes.count == seamAttributes.count
            else { return false }
            let masked = zip(seamAttributes, maskBytes).map { $0 & $1 }
            return wanted == mrSignerSEAM && Data(masked) == value
        }
        let major = tee[1]
        guard major > 0 else {
            if let module = body.tdxModule, !matches(module.mrsigner, module.attributes, module.attributesMask) {
                throw AttestationError(.measurementUnknown, "the TDX module's signer or attributes are not the TCB Info's")
            }
            return nil
        }
        let id = String(format: "TDX_%02d", Int(major))
        guard let identity = body.tdxModuleIdentities?.first(where: { $0.id == id }) else {
            throw AttestationError(.measurementUnknown, "the TCB Info has no TDX module identity \(id)")
        }
        guard matches(identity.mrsigner, identity.attributes, identity.attributesMask) else {
            throw AttestationError(.measurementUnknown, "the TDX module's signer or attributes are not those of \(id)")
        }
        for level in identity.tcbLevels where Int(tee[0]) >= level.tcb.isvsvn { return TCBStatus(level.tcbStatus) }
        return .noMatchingTCBLevel
    }

    /// The platform's status with the module's, as Intel converges them: a revoked or unmatched module decides; an
    /// out-of-date module makes an otherwise current platform out of date (keeping "configuration needed").
    static func converge(platform: TCBStatus, module: TCBStatus?) -> TCBStatus {
        guard let module else { return platform }
        if module == .revoked || module == .noMatchingTCBLevel { return module }
        guard module == .outOfDate else { return platform }
        switch platform {
        case .upToDate, .swHardeningNeeded: return .outOfDate
        case .configurationNeeded, .configurationAndSWHardeningNeeded: return .outOfDateConfigurationNeeded
        default: return platform
        }
    }
}
