import AttnCore
import Foundation
import Testing
@testable import Accelerator

/// The `cacti45` SRAM model against CACTI 7's numbers (Tests/Fixtures/cacti/sram.csv, made by
/// Scripts/cacti_golden.sh), and docs/model.md's comparison table against the same fixture.
@Suite struct CactiSRAMTests {
    static func fixture() throws -> [[String: String]] { try Fixtures.csv("cacti/sram.csv") }

    @Test func presetEqualsTheFixture() throws {
        let rows = try Self.fixture().filter { $0["node_nm"] == "45" && $0["width_bits"] == "64" }
        #expect(rows.count == CactiSRAM45.table.count)
        for (r, t) in zip(rows, CactiSRAM45.table) {
            #expect(Double(r["size_kib"]!)! == t.kib)
            #expect(Double(r["read_pj"]!)! == t.readPJ)
            #expect(Double(r["write_pj"]!)! == t.writePJ)
            #expect(Double(r["area_mm2"]!)! == t.areaMM2)
            // At a table size the interpolation returns the table's figures.
            let e = (t.readPJ + t.writePJ) / 2 / 8
            #expect(abs(CactiSRAM45.pjPerByte(kib: t.kib) / e - 1) < 1e-12)
            #expect(abs(CactiSRAM45.areaMM2(kib: t.kib) / t.areaMM2 - 1) < 1e-12)
        }
        // Between two sizes: between their values (log-log interpolation of increasing values).
        let lo = CactiSRAM45.pjPerByte(kib: 8), hi = CactiSRAM45.pjPerByte(kib: 16), mid = CactiSRAM45.pjPerByte(kib: 11)
        #expect(lo < mid && mid < hi)
        #expect(CactiSRAM45.areaMM2(kib: 0) == 0)
    }

    func hardware(_ yaml: String) throws -> HardwareConfig {
        try HardwareConfig(from: try ConfigReader(try ConfigParser.parse(yaml, file: "hw.yaml")))
    }

    @Test func configSelectsTheModelAndKeepsTheDefault() throws {
        let def = try hardware("clock_ghz: 1\n")
        #expect(def.energy.sramModel == .horowitz)
        // The default is not written into the canonical config, so existing config_ids do not change.
        #expect(!def.configNode.canonicalText.contains("sram_model"))
        let cacti = try hardware("energy:\n  sram_model: cacti45\n")
        #expect(cacti.configNode.canonicalText.contains("sram_model: \"cacti45\""))
        #expect(cacti.energy.sramPJPerByte(kib: 32) == CactiSRAM45.pjPerByte(kib: 32))
        #expect(def.energy.sramPJPerByte(kib: 32) == 2.5)
        // Area: the five buffers, each priced by its own size (a 0-KiB buffer costs nothing).
        let m = cacti.memory
        let expected = [m.qBufferKiB, m.kBufferKiB, m.scoreBufferKiB, m.outBufferKiB, cacti.vFetcher.bufferKiB].map(CactiSRAM45.areaMM2).reduce(0, +)
        #expect(AreaModel(hardware: cacti).sramMM2 == expected)
        #expect(AreaModel(hardware: def).sramMM2 != expected)
        #expect(throws: AttnError.self) { try hardware("energy:\n  sram_model: cacti45\n  sram_pj_per_byte_8kib: 2\n") }
        do {
            _ = try hardware("energy:\n  sram_model: cacti45\n  sram_pj_per_byte_8kib: 2\n")
        } catch {
            #expect("\(error)" == "hw.yaml:3:26: energy.sram_pj_per_byte_8kib: applies to sram_model: horowitz only (sram_model is cacti45)")
        }
    }

    /// docs/model.md's table (Scripts/cacti_table.py prints it) equals what EnergyTable's default
    /// formulas and the fixture give.
    @Test func docsTableMatchesTheFixture() throws {
        let e = EnergyTable()
        var lines = ["| KiB | bits | ours pJ/access | CACTI read pJ | CACTI write pJ | ours / CACTI read | ours mm² | CACTI mm² | ours / CACTI area |",
                     "|---|---|---|---|---|---|---|---|---|"]
        for r in try Self.fixture() where r["node_nm"] == "45" {
            let kib = Double(r["size_kib"]!)!, bits = Int(r["width_bits"]!)!
            let ours = e.sramPJPerByte(kib: kib) * Double(bits) / 8
            let area = EnergyTable.sramAreaUM2(kib: kib) * 1e-6
            let read = Double(r["read_pj"]!)!, write = Double(r["write_pj"]!)!, carea = Double(r["area_mm2"]!)!
            lines.append(String(format: "| %d | %d | %.2f | %.2f | %.2f | %.2f | %.4f | %.4f | %.2f |",
                                Int(kib), bits, ours, read, write, ours / read, area, carea, area / carea))
        }
        let table = lines.joined(separator: "\n") + "\n"
        let doc = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("docs/model.md"), encoding: .utf8)
        #expect(doc.contains(table), "docs/model.md lacks the CACTI table; expected:\n\(table)")
    }
}
