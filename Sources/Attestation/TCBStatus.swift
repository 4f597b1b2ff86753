import SealgateCore

/// A vendor's rating of a platform's trusted computing base (TCB), as signed collateral states it.
///
/// The values are the vendor's words (Intel's TCB Info and QE Identity statuses for TDX), plus two of ours:
/// ``noMatchingTCBLevel`` (the platform is below every level the collateral lists) and ``notEvaluated`` (the
/// evidence type can be rated but the verifier had no collateral to do it). A verifier whose evidence type has
/// no such rating (SEV-SNP, Nitro, mock today) leaves the claim `nil` instead.
public struct TCBStatus: StringCode {
    /// The status as the vendor writes it (`UpToDate`, `OutOfDate`, …).
    public let rawValue: String
    /// Wraps a status string.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The TCB is current.
    public static let upToDate = TCBStatus("UpToDate")
    /// Current, but software mitigations for known issues are needed (Intel `SWHardeningNeeded`).
    public static let swHardeningNeeded = TCBStatus("SWHardeningNeeded")
    /// Current, but the platform configuration needs changes (Intel `ConfigurationNeeded`).
    public static let configurationNeeded = TCBStatus("ConfigurationNeeded")
    /// Both of the above (Intel `ConfigurationAndSWHardeningNeeded`).
    public static let configurationAndSWHardeningNeeded = TCBStatus("ConfigurationAndSWHardeningNeeded")
    /// A newer TCB fixes published vulnerabilities (Intel `OutOfDate`).
    public static let outOfDate = TCBStatus("OutOfDate")
    /// Out of date and needing configuration changes (Intel `OutOfDateConfigurationNeeded`).
    public static let outOfDateConfigurationNeeded = TCBStatus("OutOfDateConfigurationNeeded")
    /// The TCB level is revoked: keys it holds must not be trusted.
    public static let revoked = TCBStatus("Revoked")
    /// The platform meets none of the levels the collateral lists.
    public static let noMatchingTCBLevel = TCBStatus("NoMatchingTcbLevel")
    /// The verifier could have rated the TCB but was given no collateral.
    public static let notEvaluated = TCBStatus("NotEvaluated")

    /// Statuses no reference value set may accept: revoked, unmatched or unrated TCBs.
    public static let neverAcceptable: Set<TCBStatus> = [.revoked, .noMatchingTCBLevel, .notEvaluated]

    /// Whether the status says the TCB is below the current level (out of date, or below every known level).
    public var isOutOfDate: Bool {
        self == .outOfDate || self == .outOfDateConfigurationNeeded || self == .noMatchingTCBLevel
    }
}
