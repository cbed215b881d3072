/// The version printed by `attnsim --version` and written into trace and report metadata.
public enum AttnSimVersion {
    public static let string = "0.1.0"
}
