import Foundation
import Testing

/// `attnsim table` sorting, range filters and Pareto selection; `attnsim columns --format`.
@Suite struct TableCommandTests {
    static let csv = """
    name,energy_pj,k,layer
    a,300,8,0
    b,100,16,1
    c,200,32,all
    d,100,64,2
    e,50,128,3

    """

    func write(_ text: String = csv) throws -> String {
        let dir = try CLI.temporaryDirectory()
        let path = dir.appendingPathComponent("r.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func names(_ markdown: String) -> [String] {
        markdown.split(separator: "\n").dropFirst(2).map { String($0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces)) }
    }

    @Test func sortsBySeveralKeysNumericallyAndStably() throws {
        let f = try write()
        // energy ascending, ties (b, d: 100) by k descending.
        let r = try CLI.run(["table", f, "--columns", "name", "--sort", "energy_pj", "--sort", "k:desc"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(names(r.stdout) == ["e", "d", "b", "c", "a"])
        // Numeric, not text order: 50 < 100 < 200 < 300 ("100" < "200" < "300" < "50" as text).
        let d = try CLI.run(["table", f, "--columns", "name", "--sort", "energy_pj:desc,name"])
        #expect(names(d.stdout) == ["a", "c", "b", "d", "e"])
        // A column holding text sorts as text.
        let t = try CLI.run(["table", f, "--columns", "name", "--sort", "layer"])
        #expect(names(t.stdout) == ["a", "b", "d", "e", "c"])
    }

    @Test func filtersByNumericRangesAndComparisons() throws {
        let f = try write()
        let r = try CLI.run(["table", f, "--columns", "name", "--where", "energy_pj<250", "--where", "k=16..64"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(names(r.stdout) == ["b", "c", "d"])
        #expect(names(try CLI.run(["table", f, "--columns", "name", "--where", "k=..16"]).stdout) == ["a", "b"])
        #expect(names(try CLI.run(["table", f, "--columns", "name", "--where", "k>=64", "--where", "energy_pj>=100"]).stdout) == ["d"])
        #expect(names(try CLI.run(["table", f, "--columns", "name", "--where", "energy_pj=1e2"]).stdout) == [])  // '=' is text equality
        #expect(names(try CLI.run(["table", f, "--columns", "name", "--where", "energy_pj=1e2..1e2"]).stdout) == ["b", "d"])
        // A text condition first removes the rows a numeric one cannot read.
        let l = try CLI.run(["table", f, "--columns", "name", "--where", "layer!=all", "--where", "layer>0"])
        #expect(l.status == 0, "\(l.stderr)")
        #expect(names(l.stdout) == ["b", "d", "e"])
    }

    @Test func paretoKeepsTheNonDominatedRows() throws {
        let f = try write()
        // min energy, max k: e (50, 128) dominates every other row.
        #expect(names(try CLI.run(["table", f, "--columns", "name", "--pareto", "energy_pj,k:max"]).stdout) == ["e"])
        // min energy, min k: a (300, 8), b (100, 16), e (50, 128); ordered by energy.
        #expect(names(try CLI.run(["table", f, "--columns", "name", "--pareto", "energy_pj,k"]).stdout) == ["e", "b", "a"])
    }

    @Test func badColumnsAndValuesAreLocatedErrors() throws {
        let f = try write()
        let unknown = try CLI.run(["table", f, "--columns", "name", "--sort", "energy"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "attnsim: \(f): no column 'energy'; did you mean 'energy_pj'?\n")
        let notNumber = try CLI.run(["table", f, "--columns", "name", "--where", "layer<2"])
        #expect(notNumber.status == 2)
        #expect(notNumber.stderr.hasPrefix("attnsim: \(f):4: column 'layer': 'all' is not a number (--where 'layer<2'"))
        #expect(notNumber.stdout.isEmpty)
        let badFlag = try CLI.run(["table", f, "--columns", "name", "--where", "k<many"])
        #expect(badFlag.status == 2)
        #expect(badFlag.stderr == "attnsim: --where: expected a finite number, got 'many' in 'k<many'\n")
        let noOp = try CLI.run(["table", f, "--columns", "name", "--where", "k"])
        #expect(noOp.status == 2 && noOp.stderr.hasPrefix("attnsim: --where: expected COL=VALUE"))
        let badSort = try CLI.run(["table", f, "--columns", "name", "--sort", "k:down"])
        #expect(badSort.stderr == "attnsim: --sort: expected asc or desc after ':', got 'down' in 'k:down'\n")
        let badRange = try CLI.run(["table", f, "--columns", "name", "--where", "k=64..16"])
        #expect(badRange.stderr == "attnsim: --where: empty range 64..16 in 'k=64..16'\n")
        let badPareto = try CLI.run(["table", f, "--columns", "name", "--pareto", "energy_pj:least,k"])
        #expect(badPareto.status == 2 && badPareto.stderr.hasPrefix("attnsim: --pareto: expected X[:min|:max],Y[:min|:max]"))
    }

    @Test func plotAcceptsTheSameConditions() throws {
        let f = try write()
        let dir = try CLI.temporaryDirectory()
        let svg = dir.appendingPathComponent("p.svg").path
        let r = try CLI.run(["plot", f, "--x", "energy_pj", "--y", "k", "--where", "k=16..64", "--out", svg])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        // Three points (b, c, d); the Pareto key adds one legend circle.
        #expect(text.components(separatedBy: "<circle").count - 1 == 3 + 1)
        let bad = try CLI.run(["plot", f, "--x", "energy_pj", "--y", "k", "--where", "layer<1", "--out", svg])
        #expect(bad.status == 2 && bad.stderr.contains(":4: column 'layer'"))
    }

    @Test func columnsInMarkdownAndCSV() throws {
        let md = try CLI.run(["columns", "--format", "markdown"])
        #expect(md.status == 0)
        #expect(md.stdout.hasPrefix("| column | meaning |\n|---|---|\n| `config_id` | "))
        // Three tables (fixed, on-chip model, banked DRAM columns); docs/report-columns.md holds exactly these.
        let tables = md.stdout.components(separatedBy: "\n\n")
        #expect(tables.count == 3 && tables[1].hasPrefix("| column | meaning |\n|---|---|\n| `cycles_sram` | ")
                && tables[2].hasPrefix("| column | meaning |\n|---|---|\n| `dram_requests` | "))
        let doc = try String(contentsOfFile: CLI.packageRoot.appendingPathComponent("docs/report-columns.md").path, encoding: .utf8)
        for t in tables { #expect(doc.contains(t), "docs/report-columns.md's table differs from 'attnsim columns --format markdown':\n\(t)") }
        let csv = try CLI.run(["columns", "--format", "csv"])
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first == "column,meaning")
        // One record per column: the markdown's rows less its three headers and three separator lines.
        #expect(lines.count == md.stdout.split(separator: "\n").count - 5)
        #expect(lines.contains { $0.hasPrefix("kv_dram_passes,\"(only with hardware.dataflow: tiled") })
        #expect(lines.contains("energy_pj,\"total energy, pJ\""))
        #expect(lines.contains("dram_activates,(banked DRAM model only) ACT commands"))
        let text = try CLI.run(["columns"])
        #expect(text.stdout.contains("\ndram_activates\t(banked DRAM model only) ACT commands\n"))
        let bad = try CLI.run(["columns", "--format", "html"])
        #expect(bad.status == 2 && bad.stderr == "attnsim: --format: expected one of text, markdown, csv, got 'html'\n")
    }
}
