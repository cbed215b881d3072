import Foundation
import Testing
@testable import AttnCore

@Suite struct ConfigFuzzTests {
    static let corpus = [
        """
        # accelerator
        base: base.yaml
        hardware:
          array: {rows: 32, cols: 32, dataflow: os}
          clock_ghz: 1.0e0
          names: ["a b", 'c''d', plain]
        layers:
          - name: q
            bits: [8, 4]
          - - nested
            - -5
        sweep:
          hardware.array.rows: [8, 16]
        zip:
          - {a.b: [1, 2], c: [x, y]}
        """,
        "a: [1, {b: [2, {c: \"\\u00e9\\x41\\n\"}]}, ~, .5, -2.5E+3]\nk:\n- x\n- y: z\n  w: ~\n",
        "- a\n- b: 1\n  c:\n    - d\n-\n  e: f\n",
    ]

    static let alphabet = Array(":-[]{},#&*!|>'\"\\ \n\t~.%?@`0a".utf8) + [0xC3, 0xA9, 0xFF, 0x0D, 0x00]

    static func mutate(_ doc: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = doc
        let edits = Int.random(in: 1...4, using: &rng)
        for _ in 0..<edits {
            let kind = Int.random(in: 0..<6, using: &rng)
            let i = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
            switch kind {
            case 0 where !b.isEmpty: b[i] = alphabet.randomElement(using: &rng)!
            case 1: b.insert(alphabet.randomElement(using: &rng)!, at: i)
            case 2 where !b.isEmpty: b.remove(at: i)
            case 3: b = Array(b.prefix(i))                      // truncation
            case 4 where !b.isEmpty:                            // duplicate a slice
                let j = Int.random(in: i..<b.count, using: &rng)
                b.insert(contentsOf: b[i...j], at: j)
            default: b.insert(contentsOf: Array("  ".utf8), at: i) // indentation damage
            }
        }
        return b
    }

    /// Mutated and truncated documents either parse or fail with a located config error; anything
    /// that parses round-trips through its canonical text and survives sweep expansion and decoding.
    @Test func mutatedDocumentsNeverCrash() throws {
        var rng = SplitMix64(seed: 20_261_122)
        var parsed = 0, rejected = 0
        // ATTNSIM_CONFIG_FUZZ=<iterations> runs a longer campaign (e.g. 200000 in a release build).
        let iterations = Int(ProcessInfo.processInfo.environment["ATTNSIM_CONFIG_FUZZ"] ?? "") ?? 600
        for n in 0..<iterations {
            let source = Array(Self.corpus[n % Self.corpus.count].utf8)
            let bytes = Self.mutate(source, &rng)
            let lineCount = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
            do {
                let node = try ConfigParser.parse(bytes: bytes, file: "f.yaml")
                parsed += 1
                let again = try ConfigParser.parse(node.canonicalText, file: "canonical")
                #expect(again.canonicalText == node.canonicalText, "canonical text is not a fixed point: \(node.canonicalText)")
                _ = node.configID
                if let points = try? ConfigSweep.expand(node, maxPoints: 1000) {
                    for p in points { _ = try? TestArrayConfig(p.config) }
                }
            } catch {
                rejected += 1
                guard case let .config(file, line, column, message) = error else {
                    Issue.record("not a config error: \(error)")
                    continue
                }
                #expect(file == "f.yaml")
                #expect(line >= 1 && line <= lineCount, "line \(line) outside 1...\(lineCount): \(message)")
                #expect(column >= 1)
                #expect(!message.isEmpty && !message.contains("\n"), "\(message)")
            }
        }
        // Both outcomes happen, so the mutations exercise both paths.
        #expect(parsed > 50 && rejected > 50)
    }

    @Test func everyPrefixOfAValidDocumentIsHandled() {
        for doc in Self.corpus {
            let bytes = Array(doc.utf8)
            for cut in 0...bytes.count {
                do { _ = try ConfigParser.parse(bytes: Array(bytes.prefix(cut)), file: "p.yaml") } catch {
                    #expect(error.description.hasPrefix("p.yaml:"))
                }
            }
        }
    }

    @Test func pathologicalInputsFailCleanly() {
        let inputs = [
            String(repeating: "{", count: 10_000),
            String(repeating: "- ", count: 5_000) + "x",
            String(repeating: "a: ", count: 1_000),
            String(repeating: "\"", count: 3),
            String(repeating: " ", count: 10_000) + "x: 1",
            "a: " + String(repeating: "[1, ", count: 60) + String(repeating: "]", count: 60),
            "a: [" + String(repeating: "é, ", count: 50_000) + "]",       // one long line: linear time
            "a: [" + String(repeating: "x, ", count: 50_000),            // ... unterminated
        ]
        for text in inputs {
            do { _ = try ConfigParser.parse(text, file: "p.yaml") } catch {
                #expect(error.description.hasPrefix("p.yaml:"))
            }
        }
    }

    static let fragments = ["key", "k2", ":", ": ", "- ", "-", "[", "]", "{", "}", ", ", ",", "\"q\\\"\"", "'s''t'",
                            " ", "\n", "\n  ", "\n    ", "  ", "# c", "1.5", "-3", "~", "&a", "*a", "!t", "|", ">",
                            "---", "\t", "?", "é", "\"", "'", "\\", "true", "null", "1e3", ".", "%", "\r\n"]

    /// Documents made of random YAML-ish fragments: same invariants as above.
    @Test func fragmentSoupNeverCrashes() throws {
        var rng = SplitMix64(seed: 7)
        let iterations = (Int(ProcessInfo.processInfo.environment["ATTNSIM_CONFIG_FUZZ"] ?? "") ?? 600)
        var parsed = 0
        for _ in 0..<iterations {
            var text = ""
            for _ in 0..<Int.random(in: 1...30, using: &rng) { text += Self.fragments.randomElement(using: &rng)! }
            do {
                let node = try ConfigParser.parse(text, file: "s.yaml")
                parsed += 1
                let again = try ConfigParser.parse(node.canonicalText, file: "canonical")
                #expect(again.canonicalText == node.canonicalText, "canonical text is not a fixed point: \(node.canonicalText)")
                _ = try? ConfigSweep.expand(node, maxPoints: 100)
            } catch {
                guard case let .config(file, line, column, message) = error else {
                    Issue.record("not a config error: \(error)")
                    continue
                }
                #expect(file == "s.yaml" && line >= 1 && column >= 1 && !message.contains("\n"), "\(message)")
            }
        }
        #expect(parsed > 10)
    }
}
