import AttnCore
import Foundation
import TestSupport

enum Fixtures {
    static var packageRoot: URL { TestPaths.packageRoot }

    static func path(_ relative: String) -> String { TestPaths.fixture(relative) }

    /// A CSV fixture as rows of column → text.
    static func csv(_ relative: String) throws -> [[String: String]] {
        let text = try String(contentsOfFile: path(relative), encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }
}

/// The project's one seeded generator (AttnCore.SplitMix64), under the name these tests use.
typealias SeededRNG = SplitMix64
