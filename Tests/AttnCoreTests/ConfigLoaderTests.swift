import Foundation
import Testing
@testable import AttnCore

/// A fresh temporary directory with the given files (relative path → text).
func makeConfigDir(_ files: [String: String]) throws -> String {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("attnsim-config-\(UUID().uuidString)").path
    for (name, text) in files {
        let path = dir + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
    return dir
}

private func loadError(_ path: String) -> String {
    do { _ = try ConfigLoader.load(path: path); return "no error" } catch { return error.description }
}

@Suite struct ConfigLoaderTests {
    @Test func baseIsMergedUnderTheFile() throws {
        let dir = try makeConfigDir([
            "base.yaml": "a:\n  b: 1\n  c: 2\nlist: [1, 2]\nmap: {x: 1}\nkeep: yes\n",
            "child.yaml": "base: base.yaml\na:\n  c: 3\n  d: 4\nlist: [9]\nmap: 5\nnew: n\n",
        ])
        let node = try ConfigLoader.load(path: dir + "/child.yaml")
        let expected = try ConfigParser.parse("a: {b: 1, c: 3, d: 4}\nlist: [9]\nmap: 5\nkeep: yes\nnew: n", file: "x")
        #expect(node == expected)
        #expect(node.entries?.map(\.key) == ["a", "list", "map", "keep", "new"]) // base order, then new keys
        // Locations point into the file each value came from.
        #expect(node["a"]?["b"]?.location == ConfigLocation(file: dir + "/base.yaml", line: 2, column: 6))
        #expect(node["a"]?["c"]?.location == ConfigLocation(file: dir + "/child.yaml", line: 3, column: 6))
    }

    @Test func chainsResolveRelativeToEachFile() throws {
        let dir = try makeConfigDir([
            "root.yaml": "x: 1\ny: 1\nz: 1\n",
            "sub/mid.yaml": "base: ../root.yaml\ny: 2\n",
            "sub/deeper/top.yaml": "base: ../mid.yaml\nz: 3\n",
        ])
        let node = try ConfigLoader.load(path: dir + "/sub/deeper/top.yaml")
        #expect(node == (try ConfigParser.parse("x: 1\ny: 2\nz: 3", file: "x")))
        #expect(node["base"] == nil)
    }

    @Test func decodeErrorsPointIntoTheBaseFile() throws {
        let dir = try makeConfigDir([
            "b.yaml": "hardware:\n  array:\n    rows: abc\n",
            "c.yaml": "base: b.yaml\nhardware:\n  array:\n    cols: 4\n",
        ])
        let node = try ConfigLoader.load(path: dir + "/c.yaml")
        #expect(throws: AttnError.config(file: dir + "/b.yaml", line: 3, column: 11,
                                         message: "hardware.array.rows: expected an integer in 1...65536, got 'abc'")) {
            try TestArrayConfig(node)
        }
    }

    @Test func nullOverrideRestoresTheDefault() throws {
        let dir = try makeConfigDir([
            "b.yaml": "hardware: {array: {rows: 8}}\n",
            "c.yaml": "base: b.yaml\nhardware: {array: {rows: ~}}\n",
        ])
        #expect(try TestArrayConfig(try ConfigLoader.load(path: dir + "/c.yaml")).rows == 32)
    }

    @Test func cyclesAreRejectedNamingTheFiles() throws {
        let dir = try makeConfigDir([
            "a.yaml": "base: b.yaml\n",
            "b.yaml": "x: 1\nbase: a.yaml\n",
            "self.yaml": "base: ./self.yaml\n",
        ])
        #expect(loadError(dir + "/a.yaml")
                == "\(dir)/b.yaml:2:7: base: cycle: \(dir)/a.yaml -> \(dir)/b.yaml -> \(dir)/a.yaml")
        #expect(loadError(dir + "/self.yaml") == "\(dir)/self.yaml:1:7: base: cycle: \(dir)/self.yaml -> \(dir)/./self.yaml")
    }

    @Test func badBaseValues() throws {
        let dir = try makeConfigDir([
            "missing.yaml": "a: 1\nbase: nope.yaml\n",
            "list.yaml": "base: [a.yaml]\n",
            "scalar.yaml": "just text\n",
            "broken.yaml": "base: bad.yaml\n",
            "bad.yaml": "a: [1\n",
        ])
        #expect(loadError(dir + "/missing.yaml")
                == "\(dir)/missing.yaml:2:7: base: cannot read '\(dir)/nope.yaml': no such config file")
        #expect(loadError(dir + "/list.yaml") == "\(dir)/list.yaml:1:7: base: expected a config file name, got a list")
        #expect(loadError(dir + "/scalar.yaml")
                == "\(dir)/scalar.yaml:1:1: a config file must be a mapping of 'key: value' lines, got 'just text'")
        #expect(loadError(dir + "/broken.yaml") == "\(dir)/bad.yaml:1:4: unterminated flow sequence (no closing ']')")
        #expect(loadError(dir + "/none.yaml") == "\(dir)/none.yaml: no such config file")
        #expect(loadError(dir) == "\(dir): is a directory, expected a config file")
    }

    @Test func loadTextResolvesBaseNextToTheNamedFile() throws {
        let dir = try makeConfigDir(["b.yaml": "a: 1\nb: 1\n"])
        let node = try ConfigLoader.load(text: "base: b.yaml\nb: 2", file: dir + "/virtual.yaml")
        #expect(node == (try ConfigParser.parse("a: 1\nb: 2", file: "x")))
        #expect(try ConfigLoader.load(text: "", file: "e.yaml") == ConfigNode(.mapping([])))
    }

    @Test func mergeRules() throws {
        let base = try ConfigParser.parse("m: {a: 1, n: {b: 2, c: 3}}\ns: [1, 2]\nx: 1", file: "b")
        let over = try ConfigParser.parse("m: {n: {c: 4}}\ns: [3]\nx: {y: 1}", file: "o")
        let merged = ConfigLoader.merge(base: base, override: over)
        #expect(merged == (try ConfigParser.parse("m: {a: 1, n: {b: 2, c: 4}}\ns: [3]\nx: {y: 1}", file: "e")))
    }

    @Test func commandLineOverrides() throws {
        var node = try ConfigParser.parse("hardware: {array: {rows: 8}}", file: "o.yaml")
        try ConfigLoader.applyOverride("hardware.array.rows=64", to: &node)
        try ConfigLoader.applyOverride("hardware.array.sizes=[1, 2]", to: &node)
        try ConfigLoader.applyOverride("hardware.array.name=\"a b\"", to: &node)
        let c = try TestArrayConfig(node)
        #expect(c.rows == 64 && c.sizes == [1, 2] && c.name == "a b")
        #expect(throws: AttnError.usage(flag: "--set", message: "expected 'dotted.key=value', got 'rows'")) {
            try ConfigLoader.applyOverride("rows", to: &node)
        }
        #expect(throws: AttnError.usage(flag: "--set", message: "a.b: --set:1:1: unterminated flow sequence (no closing ']')")) {
            try ConfigLoader.applyOverride("a.b=[1", to: &node)
        }
        #expect(throws: AttnError.usage(flag: "--set", message: "path '.x': expected dotted keys like 'hardware.array.rows'")) {
            try ConfigLoader.applyOverride(".x=1", to: &node)
        }
        #expect(throws: AttnError.usage(flag: "--set", message: "cannot set 'hardware.array.rows.x': 'hardware.array.rows' is '64', not a mapping")) {
            try ConfigLoader.applyOverride("hardware.array.rows.x=1", to: &node)
        }
    }
}
