/// Costs activities in order and applies the head-to-head overlap rule: the heads of one call —
/// consecutive activities of one (sequence, layer, first row) — stream through the pipeline back to
/// back (`PhaseCost.followed(by:)`: each one after the first adds only its steady cycles); separate
/// calls (layers, sequences, decode steps) add up, since a layer's Q, K, V depend on the previous
/// layer's output. Keeps the total and, on request, each stream's cost per layer and each activity's
/// own cost per (layer, KV head).
public struct CostStream: Sendable {
    public let pipeline: AttentionPipeline
    public let perLayer: Bool, perHead: Bool
    public private(set) var total = PhaseCost()
    var stream = PhaseCost()
    var key: (sequence: Int, layer: Int, row: Int)? = nil
    /// Per layer (with `perLayer`): the streams of that layer.
    public private(set) var byLayer: [Int: PhaseCost] = [:]
    /// Per "layer.kvHead" (with `perHead`): (layer, KV head, the sum of its activities' own costs).
    public private(set) var byHead: [String: (Int, Int, PhaseCost)] = [:]

    public init(pipeline: AttentionPipeline, perLayer: Bool = false, perHead: Bool = false) {
        self.pipeline = pipeline
        self.perLayer = perLayer
        self.perHead = perHead
    }

    public mutating func add(_ a: HeadActivity) {
        let c = pipeline.cost(a)
        if perHead {
            let k = "\(a.layer).\(a.kvHead)"
            var e = byHead[k] ?? (a.layer, a.kvHead, PhaseCost())
            e.2 += c
            byHead[k] = e
        }
        if let k = key, k == (a.sequence, a.layer, a.firstRowPosition) {
            stream = stream.followed(by: c)
        } else {
            close()
            key = (a.sequence, a.layer, a.firstRowPosition)
            stream = c
        }
    }

    private mutating func close() {
        guard let k = key else { return }
        total += stream
        if perLayer { byLayer[k.layer, default: PhaseCost()] += stream }
    }

    /// Closes the last stream (call once, after the last activity).
    public mutating func finish() {
        close()
        key = nil
    }
}

extension AttentionPipeline {
    /// Cost of activities in order, the heads of each call following each other (`CostStream`).
    public func streamCost(_ acts: [HeadActivity]) -> PhaseCost {
        var cs = CostStream(pipeline: self)
        for a in acts { cs.add(a) }
        cs.finish()
        return cs.total
    }
}
