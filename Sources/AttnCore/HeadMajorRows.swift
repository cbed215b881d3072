extension Array {
    /// Rows `r` of every head of a head-major [heads, tokens, dim] array, head after head: a
    /// [heads, r.count, dim] array (a trace prefix, a layer's decode rows, a tensor's row range).
    public func headRows(_ r: Range<Int>, heads: Int, tokens: Int, dim: Int) -> [Element] {
        precondition(r.lowerBound >= 0 && r.upperBound <= tokens && count == heads * tokens * dim)
        var out: [Element] = []
        out.reserveCapacity(heads * r.count * dim)
        for h in 0..<heads { out.append(contentsOf: self[((h * tokens + r.lowerBound) * dim)..<((h * tokens + r.upperBound) * dim)]) }
        return out
    }
}
