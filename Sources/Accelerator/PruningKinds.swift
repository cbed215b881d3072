/// The pruning vocabulary shared by the functional model (`AttentionConfig`) and the timing model
/// (`TimingWorkload`): one definition, so the two sides cannot drift apart.

/// Where a Top-θ / Ji et al. threshold compares: before or after softmax.
public enum ThresholdPlacement: String, Sendable, CaseIterable {
    /// Thresholds compare scores before softmax.
    case scores
    /// Thresholds compare probabilities after softmax.
    case probabilities
}

/// How the softmax denominator accounts for the pruned elements.
public enum DenominatorCompensation: String, Sendable, CaseIterable {
    /// Softmax over the kept elements only.
    case none
    /// Denominator over all elements (dropped ones included).
    case exact
    /// Σ kept + (number dropped) · e^(θ − max): an upper bound from the threshold.
    case countBound = "count_bound"
    /// Σ kept + a constant calibrated per (layer, head).
    case constant
}
