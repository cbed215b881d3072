import Foundation
import TestSupport

/// Paths of committed test fixtures (Tests/Fixtures/...), found from this source file.
enum Fixtures {
    static var packageRoot: URL { TestPaths.packageRoot }

    static func path(_ relative: String) -> String { TestPaths.fixture(relative) }

    /// A fetched asset (Scripts/fetch-assets); a missing one fails the test, never skips it.
    static func assets(_ relative: String) throws -> String { try TestPaths.asset(relative) }

    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func temporaryDirectory() throws -> URL { try TestPaths.temporaryDirectory() }
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
