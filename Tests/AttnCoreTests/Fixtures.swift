import Foundation

/// Paths of committed test fixtures (Tests/Fixtures/...), found from this source file.
enum Fixtures {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url = url.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("package root not found above \(#filePath)")
    }()

    static func path(_ relative: String) -> String {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative).path
    }

    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension Array where Element == Any {
    /// Numbers, with the strings "inf" / "-inf" for infinities (JSON has none).
    var floats: [Float] {
        map { x in
            if let s = x as? String { return s == "inf" ? Float.infinity : -Float.infinity }
            return Float((x as! NSNumber).doubleValue)
        }
    }
    var int64s: [Int64] { map { ($0 as! NSNumber).int64Value } }
}
