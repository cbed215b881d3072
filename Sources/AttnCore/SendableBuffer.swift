/// A mutable buffer shared with `DispatchQueue.concurrentPerform` workers that write disjoint
/// slices of it. The caller guarantees no two workers touch the same element.
public struct SharedBuffer<Element>: @unchecked Sendable {
    public let base: UnsafeMutableBufferPointer<Element>
    public init(_ base: UnsafeMutableBufferPointer<Element>) { self.base = base }
    @inlinable public subscript(i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}
