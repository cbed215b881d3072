import AttnCore
import Foundation
import Testing

/// Locations of committed fixtures and fetched assets for the encoder tests.
enum EncoderFixtures {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("package root not found above \(#filePath)")
    }()

    static func fixture(_ name: String) -> String {
        packageRoot.appendingPathComponent("Tests/Fixtures/encoder").appendingPathComponent(name).path
    }

    /// `$ATTNSIM_ASSETS` or `<repo>/.assets`, as in Scripts/fetch-assets.
    static let assets: URL = {
        if let p = ProcessInfo.processInfo.environment["ATTNSIM_ASSETS"], !p.isEmpty { return URL(fileURLWithPath: p) }
        return packageRoot.appendingPathComponent(".assets")
    }()

    struct MissingAsset: Error, CustomStringConvertible {
        let path: String
        var description: String { "missing asset \(path): run Scripts/fetch-assets first (needs network once)" }
    }

    /// Path of a fetched asset; a missing asset fails the test (never skips it).
    static func asset(_ relative: String) throws -> String {
        let p = assets.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: p) else {
            throw MissingAsset(path: p)
        }
        return p
    }

    static var minilmDirectory: String { get throws { _ = try asset("minilm/config.json"); return assets.appendingPathComponent("minilm").path } }
}
