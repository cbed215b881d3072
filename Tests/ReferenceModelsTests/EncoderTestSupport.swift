import AttnCore
import Foundation
import TestSupport
import Testing

/// Locations of committed fixtures and fetched assets for the encoder tests.
enum EncoderFixtures {
    static var packageRoot: URL { TestPaths.packageRoot }

    static func fixture(_ name: String) -> String { TestPaths.fixture("encoder/" + name) }

    static var assets: URL { TestPaths.assets }

    /// Path of a fetched asset; a missing asset fails the test (never skips it).
    static func asset(_ relative: String) throws -> String { try TestPaths.asset(relative) }

    static var minilmDirectory: String { get throws { _ = try asset("minilm/config.json"); return assets.appendingPathComponent("minilm").path } }
}
