import Foundation

/// Where the tests find the package, its committed fixtures and the fetched assets — one policy for
/// every test target (each target keeps a short local name that forwards here).
public enum TestPaths {
    /// The directory holding Package.swift, found from this source file.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("package root not found above \(#filePath)")
    }()

    /// `Tests/Fixtures/<relative>`.
    public static func fixture(_ relative: String) -> String {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative).path
    }

    /// The fetched assets: `$ATTNSIM_ASSETS` when set and not empty, else `<package>/.assets`
    /// (the same rule as Scripts/fetch-assets).
    public static let assets: URL = {
        if let p = ProcessInfo.processInfo.environment["ATTNSIM_ASSETS"], !p.isEmpty { return URL(fileURLWithPath: p) }
        return packageRoot.appendingPathComponent(".assets")
    }()

    /// `assets/<relative>` without checking that it exists.
    public static func assetPath(_ relative: String) -> String {
        assets.appendingPathComponent(relative).path
    }

    /// A fetched asset that must exist: a missing one fails the test with how to get it (tests that
    /// need assets are never skipped).
    public static func asset(_ relative: String) throws -> String {
        let p = assetPath(relative)
        guard FileManager.default.fileExists(atPath: p) else { throw MissingAsset(path: p) }
        return p
    }

    /// A fresh, empty directory under the system temporary directory.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

public struct MissingAsset: Error, CustomStringConvertible {
    public let path: String
    public init(path: String) { self.path = path }
    public var description: String { "missing asset \(path): run Scripts/fetch-assets first (needs network once)" }
}
