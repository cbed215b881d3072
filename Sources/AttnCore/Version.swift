/// The version printed by `attnsim --version` and written into trace and report metadata.
public enum AttnSimVersion {
    public static let string = "0.1.0"

    /// The revision of the models behind every reported number (timing, memory, energy, functional
    /// arithmetic, reference transformers). Bump it in the commit that changes any number a report
    /// can contain for some input, and say why in docs/robustness.md ("Model revisions"). Reports
    /// carry it in their `model_revision` column; `--resume` and `attnsim merge` refuse to combine
    /// rows of different revisions, so a long run continued after an upgrade cannot mix two models.
    /// `ModelRevisionTests` pins the reports of a few committed configs to it.
    public static let modelRevision = 2
}
