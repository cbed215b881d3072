import Testing
@testable import AttnCore

private func expand(_ text: String, maxPoints: Int = ConfigSweep.defaultMaxPoints) throws(AttnError) -> [SweepPoint] {
    try ConfigSweep.expand(try ConfigParser.parse(text, file: "s.yaml"), maxPoints: maxPoints)
}

private func expandError(_ text: String, maxPoints: Int = ConfigSweep.defaultMaxPoints) -> String {
    do { _ = try expand(text, maxPoints: maxPoints); return "no error" } catch { return error.description }
}

@Suite struct ConfigSweepTests {
    @Test func noSweepIsOnePoint() throws {
        let points = try expand("a: 1")
        #expect(points.count == 1)
        #expect(points[0].index == 0 && points[0].sweptValues.isEmpty)
        #expect(points[0].config == (try ConfigParser.parse("a: 1", file: "x")))
        #expect(try expand("a: 1\nsweep: ~\nzip:").count == 1)
    }

    @Test func cartesianProductFirstKeySlowest() throws {
        let points = try expand("""
            a: 0
            sweep:
              a: [1, 2]
              b.c: [x, y, z]
            """)
        #expect(points.map(\.index) == Array(0..<6))
        let combos = points.map { $0.sweptValues.map(\.description).joined(separator: " ") }
        #expect(combos == ["a=1 b.c=x", "a=1 b.c=y", "a=1 b.c=z", "a=2 b.c=x", "a=2 b.c=y", "a=2 b.c=z"])
        #expect(points[4].config == (try ConfigParser.parse("a: 2\nb: {c: y}", file: "x")))
        #expect(points.allSatisfy { $0.config["sweep"] == nil })
    }

    @Test func zipGroupsVaryTogetherAfterSweepKeys() throws {
        let points = try expand("""
            zip:
              - {p: [1, 2, 3], q: [a, b, c]}
            sweep:
              r: [true, false]
            """)
        let combos = points.map { $0.sweptValues.map(\.description).joined(separator: " ") }
        #expect(combos == ["r=true p=1 q=a", "r=true p=2 q=b", "r=true p=3 q=c",
                           "r=false p=1 q=a", "r=false p=2 q=b", "r=false p=3 q=c"])
        #expect(points[5].config == (try ConfigParser.parse("r: false\np: 3\nq: c", file: "x")))
    }

    @Test func sweptValuesAsText() throws {
        let points = try expand("sweep:\n  v: [\"quoted\", {a: 1}, [1, 2.50], ~]")
        #expect(points.map { $0.sweptValues[0].value } == ["quoted", "{a: 1}", "[1, 2.5]", "null"])
    }

    @Test func sweptConfigsDecodeAndErrorsPointAtTheSweepValue() throws {
        let text = """
            hardware:
              array: {rows: 4}
            sweep:
              hardware.array.rows: [8, abc]
              hardware.array.cols: [2]
            """
        let points = try expand(text)
        #expect(try TestArrayConfig(points[0].config).rows == 8)
        #expect(try TestArrayConfig(points[0].config).cols == 2)
        #expect(throws: AttnError.config(file: "s.yaml", line: 4, column: 28,
                                         message: "hardware.array.rows: expected an integer in 1...65536, got 'abc'")) {
            try TestArrayConfig(points[1].config)
        }
    }

    @Test func misspelledSweepPathIsAnUnknownKey() throws {
        let points = try expand("sweep:\n  hardware.array.rowz: [8]")
        #expect(throws: AttnError.config(file: "s.yaml", line: 2, column: 3,
            message: "hardware.array.rowz: unknown key; did you mean 'rows'? (allowed: rows, cols, clock_ghz, dataflow, name, gated, sizes, label)")) {
            try TestArrayConfig(points[0].config)
        }
    }

    @Test(arguments: [
        ("sweep:\n  a: 1", "s.yaml:2:6: sweep.a: expected a list of values like [1, 2, 4], got '1'"),
        ("sweep:\n  a: []", "s.yaml:2:6: sweep.a: the list of values is empty"),
        ("sweep: [a]", "s.yaml:1:8: sweep: expected a mapping of dotted key paths to lists of values, got a list"),
        ("sweep:\n  a..b: [1]", "s.yaml:2:3: sweep path 'a..b': expected dotted keys like 'hardware.array.rows'"),
        ("sweep:\n  zip.x: [1]", "s.yaml:2:3: sweep path 'zip.x': 'zip' cannot be swept"),
        ("sweep:\n  a.b: [1]\n  a: [2]", "s.yaml:3:3: sweep path 'a' overlaps 'a.b' (line 2)"),
        ("sweep:\n  a: [1]\nzip:\n  - {a: [2]}", "s.yaml:4:6: sweep path 'a' is swept twice (line 2)"),
        ("zip:\n  - {a: [1, 2], b: [1, 2, 3]}", "s.yaml:2:5: zip[0]: lists must have equal lengths: a has 2, b has 3"),
        ("zip: {a: [1]}", "s.yaml:1:6: zip: expected a list of groups ('- {path: [values], other.path: [values]}'), got a mapping"),
        ("zip:\n  - [1]", "s.yaml:2:5: zip[0]: expected a mapping of dotted key paths to equal-length lists, got a list"),
        ("a: 5\nsweep:\n  a.b: [1]", "s.yaml:3:3: cannot set 'a.b': 'a' is '5', not a mapping"),
    ])
    func sweepErrors(_ text: String, _ message: String) {
        #expect(expandError(text) == message)
    }

    @Test func pointLimit() {
        let text = "sweep:\n  a: [1, 2, 3]\n  b: [1, 2, 3]\nzip:\n  - {c: [1, 2], d: [3, 4]}"
        #expect(expandError(text, maxPoints: 18) == "no error")
        #expect(expandError(text, maxPoints: 17)
                == "s.yaml:2:3: sweep has 18 points, more than the limit of 17 (a × 3, b × 3, c+d × 2)")
        let huge = "sweep:\n" + (0..<20).map { "  k\($0): [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" }.joined(separator: "\n")
        #expect(expandError(huge).hasPrefix("s.yaml:2:3: sweep has more than 9223372036854775807 points, more than the limit of 100000"))
    }

    @Test func setCreatesAndReplaces() throws {
        var doc = try ConfigParser.parse("a: {b: 1}\nc: ~", file: "x")
        try ConfigSweep.set("a.b", to: .int(2), in: &doc, at: .synthesized)
        try ConfigSweep.set("c.d.e", to: .bool(true), in: &doc, at: .synthesized)
        #expect(doc == (try ConfigParser.parse("a: {b: 2}\nc: {d: {e: true}}", file: "x")))
    }

    @Test func sweptPointsHaveDistinctIDs() throws {
        let ids = try expand("sweep:\n  a: [1, 2, 3]\n  b: [x, y]").map(\.config.configID)
        #expect(Set(ids).count == 6)
    }
}
