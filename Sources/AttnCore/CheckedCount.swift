/// Counters (cycles, MACs, accesses, bytes) computed from user-controlled sizes with checked
/// arithmetic: a product or sum that does not fit in 64 bits throws `CountOverflow` naming the
/// quantity instead of trapping. The caller turns it into a located error (the flag or key and the
/// largest size accepted).
public struct CountOverflow: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was being counted, with its formula, e.g. "macs (M·K·N)".
    public let quantity: String
    public init(_ quantity: String) { self.quantity = quantity }
    public var description: String { "\(quantity) exceeds \(Int.max) (2^63 − 1)" }
}

public enum CheckedCount {
    /// `a · b`, or `CountOverflow(quantity)` if it leaves Int's range.
    @inlinable
    public static func product(_ a: Int, _ b: Int, quantity: @autoclosure () -> String) throws(CountOverflow) -> Int {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        if o { throw CountOverflow(quantity()) }
        return r
    }

    /// `a · b · c`, or `CountOverflow(quantity)` if a partial product leaves Int's range.
    @inlinable
    public static func product(_ a: Int, _ b: Int, _ c: Int, quantity: @autoclosure () -> String) throws(CountOverflow) -> Int {
        try product(try product(a, b, quantity: quantity()), c, quantity: quantity())
    }

    /// `a + b`, or `CountOverflow(quantity)` on overflow.
    @inlinable
    public static func sum(_ a: Int, _ b: Int, quantity: @autoclosure () -> String) throws(CountOverflow) -> Int {
        let (r, o) = a.addingReportingOverflow(b)
        if o { throw CountOverflow(quantity()) }
        return r
    }

    /// `a + b + c`, or `CountOverflow(quantity)` on overflow.
    @inlinable
    public static func sum(_ a: Int, _ b: Int, _ c: Int, quantity: @autoclosure () -> String) throws(CountOverflow) -> Int {
        try sum(try sum(a, b, quantity: quantity()), c, quantity: quantity())
    }
}
