import Accelerator
import AttnCore
import Foundation

/// A SCALE-Sim 3.0.0 `.cfg` file, read the way SCALE-Sim reads it (Python's `configparser` with its
/// defaults: `[section]` headers, `key = value` or `key: value`, keys case-insensitive, section names
/// case-sensitive, whole-line `#`/`;` comments, no inline comments), mapped onto the fields that
/// apply to a systolic array.
///
/// Every key is either used, known to have no effect on SCALE-Sim's reports in the mode we
/// reproduce (CALC interface bandwidth), or refused; unknown keys and missing keys that SCALE-Sim
/// requires but that do not change the reports are reported as one-line warnings. See
/// docs/scalesim.md for the full table.
public struct ScaleSimConfig: Sendable, Equatable {
    /// `[general] run_name`: the reports go to `OUTDIR/run_name/`.
    public var runName: String
    /// `ArrayHeight` × `ArrayWidth` (rows × columns of PEs).
    public var arrayRows: Int
    public var arrayCols: Int
    public var dataflow: SystolicArray.Dataflow
    /// `IfmapSramSzkB`, `FilterSramSzkB`, `OfmapSramSzkB` (kB of 1024 one-byte words).
    public var ifmapSRAMKB: Int
    public var filterSRAMKB: Int
    public var ofmapSRAMKB: Int
    /// `IfmapOffset`, `FilterOffset`, `OfmapOffset`: base addresses of the operands (they only move
    /// addresses in traces; the reports do not depend on them).
    public var ifmapOffset: Int
    public var filterOffset: Int
    public var ofmapOffset: Int

    public init(runName: String = "scale_run", arrayRows: Int, arrayCols: Int, dataflow: SystolicArray.Dataflow,
                ifmapSRAMKB: Int, filterSRAMKB: Int, ofmapSRAMKB: Int,
                ifmapOffset: Int = 0, filterOffset: Int = 10_000_000, ofmapOffset: Int = 20_000_000) {
        self.runName = runName
        self.arrayRows = arrayRows
        self.arrayCols = arrayCols
        self.dataflow = dataflow
        self.ifmapSRAMKB = ifmapSRAMKB
        self.filterSRAMKB = filterSRAMKB
        self.ofmapSRAMKB = ofmapSRAMKB
        self.ifmapOffset = ifmapOffset
        self.filterOffset = filterOffset
        self.ofmapOffset = ofmapOffset
    }

    /// Reads a SCALE-Sim config; `warnings` collects one line per ignored or defaulted item
    /// (the CLI prints them on stderr). Errors name `file:line` and the key.
    public static func load(path: String, warnings: inout [String]) throws(AttnError) -> ScaleSimConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw AttnError.input(file: path, item: nil, message: "cannot read the SCALE-Sim config (\(error.localizedDescription))")
        }
        return try parse(text, file: path, warnings: &warnings)
    }

    public static func parse(_ text: String, file: String, warnings: inout [String]) throws(AttnError) -> ScaleSimConfig {
        let ini = try INIFile(text, file: file)
        var reader = Reader(ini: ini, file: file)
        let config = try reader.read()
        warnings += reader.warnings
        return config
    }
}

/// An INI file as Python's `configparser.ConfigParser()` sees it with default options.
struct INIFile {
    struct Entry { var value: String; var line: Int; var spelling: String }
    /// Sections in file order, each with its keys (lower-cased, as configparser stores them).
    var sections: [(name: String, line: Int, entries: [(key: String, entry: Entry)])] = []

    init(_ text: String, file: String) throws(AttnError) {
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if let first = line.first, first == " " || first == "\t" {
                throw AttnError.config(file: file, line: lineNumber, column: 1,
                                       message: "indented line: multi-line values are not supported (SCALE-Sim's keys are one line each)")
            }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count >= 2 else {
                    throw AttnError.config(file: file, line: lineNumber, column: 1, message: "expected a section header '[name]'")
                }
                let name = String(trimmed.dropFirst().dropLast())
                if sections.contains(where: { $0.name == name }) {
                    throw AttnError.config(file: file, line: lineNumber, column: 1, message: "section [\(name)] given twice")
                }
                sections.append((name, lineNumber, []))
                continue
            }
            guard !sections.isEmpty else {
                throw AttnError.config(file: file, line: lineNumber, column: 1,
                                       message: "expected a section header such as [architecture_presets] before '\(trimmed)'")
            }
            guard let sep = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw AttnError.config(file: file, line: lineNumber, column: 1, message: "expected 'key = value' or 'key: value', got '\(trimmed)'")
            }
            let key = line[..<sep].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: sep)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                throw AttnError.config(file: file, line: lineNumber, column: 1, message: "missing key before '\(line[sep])'")
            }
            let s = sections.count - 1
            if sections[s].entries.contains(where: { $0.key == key }) {
                throw AttnError.config(file: file, line: lineNumber, column: 1, message: "[\(sections[s].name)] \(key): given twice")
            }
            sections[s].entries.append((key, Entry(value: value, line: lineNumber, spelling: line[..<sep].trimmingCharacters(in: .whitespaces))))
        }
    }

    func entry(_ section: String, _ key: String) -> Entry? {
        sections.first { $0.name == section }?.entries.first { $0.key == key.lowercased() }?.entry
    }

    func hasSection(_ name: String) -> Bool { sections.contains { $0.name == name } }
}

extension ScaleSimConfig {
    /// The keys SCALE-Sim 3.0.0's `scale_config.read_conf_file` reads, by section, and what we do
    /// with each. `used` keys are required; `noEffect` keys do not change the CALC-mode reports
    /// (missing ones are listed in one warning, because SCALE-Sim itself would stop on them).
    enum KeyUse { case used, noEffect }
    static let knownKeys: [(section: String, key: String, use: KeyUse)] = [
        ("general", "run_name", .used),
        ("architecture_presets", "ArrayHeight", .used), ("architecture_presets", "ArrayWidth", .used),
        ("architecture_presets", "IfmapSramSzkB", .used), ("architecture_presets", "FilterSramSzkB", .used),
        ("architecture_presets", "OfmapSramSzkB", .used), ("architecture_presets", "Dataflow", .used),
        ("architecture_presets", "IfmapOffset", .noEffect), ("architecture_presets", "FilterOffset", .noEffect),
        ("architecture_presets", "OfmapOffset", .noEffect),
        ("architecture_presets", "ReadRequestBuffer", .noEffect), ("architecture_presets", "WriteRequestBuffer", .noEffect),
        ("architecture_presets", "Bandwidth", .noEffect),
        ("layout", "IfmapCustomLayout", .noEffect), ("layout", "FilterCustomLayout", .noEffect),
        ("layout", "IfmapSRAMBankBandwidth", .noEffect), ("layout", "IfmapSRAMBankNum", .noEffect),
        ("layout", "IfmapSRAMBankPort", .noEffect), ("layout", "FilterSRAMBankBandwidth", .noEffect),
        ("layout", "FilterSRAMBankNum", .noEffect), ("layout", "FilterSRAMBankPort", .noEffect),
        ("sparsity", "SparsitySupport", .noEffect), ("sparsity", "SparseRep", .noEffect),
        ("sparsity", "OptimizedMapping", .noEffect), ("sparsity", "BlockSize", .noEffect),
        ("sparsity", "RandomNumberGeneratorSeed", .noEffect),
        ("run_presets", "InterfaceBandwidth", .used), ("run_presets", "UseRamulatorTrace", .noEffect),
    ]

    struct Reader {
        let ini: INIFile
        let file: String
        var warnings: [String] = []

        init(ini: INIFile, file: String) {
            self.ini = ini
            self.file = file
        }

        func fail(_ line: Int, _ section: String, _ key: String, _ message: String) -> AttnError {
            .config(file: file, line: line, column: 1, message: "[\(section)] \(key): \(message)")
        }

        func required(_ section: String, _ key: String) throws(AttnError) -> INIFile.Entry {
            guard let e = ini.entry(section, key) else {
                let why = ini.hasSection(section) ? "missing key" : "missing (no [\(section)] section)"
                throw AttnError.input(file: file, item: "[\(section)] \(key)", message: "\(why); SCALE-Sim requires it")
            }
            if e.value.contains("%") {
                throw fail(e.line, section, key, "'%' interpolation is not supported, got '\(e.value)'")
            }
            return e
        }

        /// Python's `int(text)` for plain decimal integers, within `range`.
        func integer(_ section: String, _ key: String, range: ClosedRange<Int>) throws(AttnError) -> Int {
            let e = try required(section, key)
            guard let v = Int(e.value), range.contains(v) else {
                throw fail(e.line, section, key, "expected an integer in \(range.upperBound == Int.max ? "\(range.lowerBound)..." : "\(range.lowerBound)...\(range.upperBound)"), got '\(e.value)'")
            }
            return v
        }

        mutating func read() throws(AttnError) -> ScaleSimConfig {
            let arch = "architecture_presets"
            // InterfaceBandwidth first: SCALE-Sim stops reading on a bad value.
            let bw = try required("run_presets", "InterfaceBandwidth")
            switch bw.value {
            case "CALC": break
            case "USER":
                throw fail(bw.line, "run_presets", "InterfaceBandwidth",
                           "USER (a user-given DRAM bandwidth with stalls) is not supported; only CALC (SCALE-Sim estimates the DRAM bandwidth the array needs) is reproduced")
            default:
                throw fail(bw.line, "run_presets", "InterfaceBandwidth", "expected CALC or USER, got '\(bw.value)'")
            }
            let runName = try required("general", "run_name")
            guard !runName.value.isEmpty, !runName.value.contains("/"), runName.value != ".", runName.value != ".." else {
                throw fail(runName.line, "general", "run_name", "expected a directory name (no '/'), got '\(runName.value)'")
            }
            let rows = try integer(arch, "ArrayHeight", range: 1...1 << 16)
            let cols = try integer(arch, "ArrayWidth", range: 1...1 << 16)
            let kb = 1...1 << 30
            let ifmapKB = try integer(arch, "IfmapSramSzkB", range: kb)
            let filterKB = try integer(arch, "FilterSramSzkB", range: kb)
            let ofmapKB = try integer(arch, "OfmapSramSzkB", range: kb)
            let df = try required(arch, "Dataflow")
            guard let dataflow = SystolicArray.Dataflow(rawValue: df.value) else {
                throw fail(df.line, arch, "Dataflow", "expected os, ws or is, got '\(df.value)'")
            }
            func offset(_ key: String, _ def: Int) throws(AttnError) -> Int {
                ini.entry(arch, key) == nil ? def : try integer(arch, key, range: 0...1 << 48)
            }
            let config = ScaleSimConfig(runName: runName.value, arrayRows: rows, arrayCols: cols, dataflow: dataflow,
                                        ifmapSRAMKB: ifmapKB, filterSRAMKB: filterKB, ofmapSRAMKB: ofmapKB,
                                        ifmapOffset: try offset("IfmapOffset", 0), filterOffset: try offset("FilterOffset", 10_000_000),
                                        ofmapOffset: try offset("OfmapOffset", 20_000_000))
            try checkOptionalFeatures()
            collectWarnings()
            return config
        }

        /// Features SCALE-Sim has and we do not reproduce: refused when switched on.
        mutating func checkOptionalFeatures() throws(AttnError) {
            if let e = ini.entry("run_presets", "UseRamulatorTrace") {
                if e.value == "True" {
                    throw fail(e.line, "run_presets", "UseRamulatorTrace", "True (Ramulator DRAM latency traces) is not supported")
                } else if e.value != "False" {
                    warnings.append("\(file):\(e.line): [run_presets] UseRamulatorTrace: '\(e.value)' is taken as False, as SCALE-Sim does (only 'True' enables it)")
                }
            }
            if let e = ini.entry("sparsity", "SparsitySupport") {
                if e.value.lowercased() == "true" {
                    throw fail(e.line, "sparsity", "SparsitySupport", "true (structured-sparse filters) is not supported")
                } else if e.value.lowercased() != "false" {
                    warnings.append("\(file):\(e.line): [sparsity] SparsitySupport: '\(e.value)' is taken as false, as SCALE-Sim does (only 'true' enables it)")
                }
            }
            for key in ["IfmapCustomLayout", "FilterCustomLayout"] {
                guard let e = ini.entry("layout", key) else { continue }
                switch e.value.lowercased() {
                case "1", "yes", "true", "on":
                    warnings.append("\(file):\(e.line): [layout] \(key): ignored; custom SRAM layouts change nothing in CALC mode (SCALE-Sim uses them only with InterfaceBandwidth USER), and no layout file is read")
                case "0", "no", "false", "off": break
                default: throw fail(e.line, "layout", key, "expected True or False, got '\(e.value)'")
                }
            }
        }

        /// Unknown sections and keys (SCALE-Sim ignores them too) and missing keys SCALE-Sim requires
        /// that do not change the CALC-mode reports.
        mutating func collectWarnings() {
            let known = Dictionary(grouping: ScaleSimConfig.knownKeys, by: \.section)
            for section in ini.sections {
                if section.name == "network_presets" {
                    warnings.append("\(file):\(section.line): [network_presets]: ignored; the topology is the -t file")
                    continue
                }
                guard let keys = known[section.name] else {
                    warnings.append("\(file):\(section.line): [\(section.name)]: unknown section, ignored (SCALE-Sim 3.0.0 does not read it)")
                    continue
                }
                for (key, entry) in section.entries where !keys.contains(where: { $0.key.lowercased() == key }) {
                    warnings.append("\(file):\(entry.line): [\(section.name)] \(entry.spelling): unknown key, ignored (SCALE-Sim 3.0.0 does not read it)")
                }
            }
            let missing = ScaleSimConfig.knownKeys.filter { item in
                guard item.use == .noEffect, ini.entry(item.section, item.key) == nil else { return false }
                // Bandwidth is read only in USER mode; the sparsity details only when sparsity is on.
                if item.key == "Bandwidth" { return false }
                if item.section == "sparsity" && item.key != "SparsitySupport" { return false }
                return true
            }
            if !missing.isEmpty {
                let list = missing.map { "[\($0.section)] \($0.key)" }.joined(separator: ", ")
                warnings.append("\(file): missing keys that SCALE-Sim 3.0.0 requires but that do not change the reports (defaults used): \(list)")
            }
        }
    }
}
