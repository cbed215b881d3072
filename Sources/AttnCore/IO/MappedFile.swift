import Foundation

/// Memory-maps an input file; a failure is an input error naming the file and what it should be.
public func mappedFile(_ path: String, kind: String) throws(AttnError) -> Data {
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw AttnError.input(file: path, item: nil, message: "cannot read \(kind) (\((error as NSError).localizedDescription))")
    }
}
