import Foundation

/// A decoded 8-bit RGB or RGBA PNG (what Chromium's `--screenshot` writes), so a test can look at the
/// pixels with the toolchain alone. Foundation on Linux has no zlib API, so this file carries a small
/// inflate (RFC 1951: stored, fixed and dynamic Huffman blocks, after zlib's puff.c). Every chunk's
/// CRC-32 and the zlib stream's Adler-32 are checked, so a decoding bug fails loudly instead of
/// producing wrong pixels.
struct PNGImage {
    let width: Int
    let height: Int
    /// RGBA, 4 bytes per pixel, rows top to bottom.
    let rgba: [UInt8]

    struct DecodeError: Error, CustomStringConvertible {
        let description: String
    }

    func pixel(_ x: Int, _ y: Int) -> (r: UInt8, g: UInt8, b: UInt8, a: UInt8) {
        let i = (y * width + x) * 4
        return (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3])
    }

    init(data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw DecodeError(description: "not a PNG signature")
        }
        func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var pos = 8
        var width = 0, height = 0, colorType = -1
        var idat: [UInt8] = []
        while pos + 12 <= bytes.count {
            let length = be32(pos)
            let type = String(decoding: bytes[pos + 4..<pos + 8], as: UTF8.self)
            guard pos + 12 + length <= bytes.count else { throw DecodeError(description: "chunk \(type) runs past the end") }
            let body = Array(bytes[pos + 8..<pos + 8 + length])
            guard PNGImage.crc32(Array(bytes[pos + 4..<pos + 8]) + body) == UInt32(be32(pos + 8 + length)) else {
                throw DecodeError(description: "CRC mismatch in chunk \(type)")
            }
            switch type {
            case "IHDR":
                width = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
                height = Int(body[4]) << 24 | Int(body[5]) << 16 | Int(body[6]) << 8 | Int(body[7])
                guard body[8] == 8, body[9] == 2 || body[9] == 6, body[12] == 0 else {
                    throw DecodeError(description: "only 8-bit non-interlaced RGB/RGBA is supported (depth \(body[8]), colour type \(body[9]), interlace \(body[12]))")
                }
                colorType = Int(body[9])
            case "IDAT": idat += body
            default: break
            }
            pos += 12 + length
            if type == "IEND" { break }
        }
        guard width > 0, height > 0, colorType >= 0 else { throw DecodeError(description: "no IHDR") }
        let raw = try PNGImage.zlibInflate(idat)
        let channels = colorType == 6 ? 4 : 3
        let stride = width * channels
        guard raw.count == height * (stride + 1) else {
            throw DecodeError(description: "inflated \(raw.count) bytes, expected \(height * (stride + 1))")
        }
        // Undo the per-row filters (PNG spec §9).
        var out = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            let src = y * (stride + 1) + 1
            for i in 0..<stride {
                let x = raw[src + i]
                let a = i >= channels ? Int(out[y * stride + i - channels]) : 0
                let b = y > 0 ? Int(out[(y - 1) * stride + i]) : 0
                let c = (i >= channels && y > 0) ? Int(out[(y - 1) * stride + i - channels]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw DecodeError(description: "row \(y) has filter type \(filter)")
                }
                out[y * stride + i] = UInt8(truncatingIfNeeded: Int(x) + predicted)
            }
        }
        var rgba = [UInt8](repeating: 255, count: width * height * 4)
        for p in 0..<(width * height) {
            for ch in 0..<channels { rgba[p * 4 + ch] = out[p * channels + ch] }
        }
        self.width = width
        self.height = height
        self.rgba = rgba
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~crc
    }

    /// A zlib stream (RFC 1950) inflated, its Adler-32 checked.
    static func zlibInflate(_ data: [UInt8]) throws -> [UInt8] {
        guard data.count >= 6, data[0] & 0x0F == 8, (Int(data[0]) << 8 | Int(data[1])) % 31 == 0, data[1] & 0x20 == 0 else {
            throw DecodeError(description: "bad zlib header")
        }
        var inflater = Inflater(data: data, bitPos: 16)
        let out = try inflater.run()
        let end = (inflater.bitPos + 7) / 8
        guard end + 4 <= data.count else { throw DecodeError(description: "zlib stream lacks its Adler-32") }
        let expected = UInt32(data[end]) << 24 | UInt32(data[end + 1]) << 16 | UInt32(data[end + 2]) << 8 | UInt32(data[end + 3])
        var a: UInt32 = 1, b: UInt32 = 0
        for x in out { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        guard b << 16 | a == expected else { throw DecodeError(description: "Adler-32 mismatch") }
        return out
    }
}

/// Raw DEFLATE decoding with canonical Huffman tables held as (count per length, symbols by code).
private struct Inflater {
    let data: [UInt8]
    var bitPos: Int
    var out: [UInt8] = []

    init(data: [UInt8], bitPos: Int) {
        self.data = data
        self.bitPos = bitPos
    }

    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: [Int]) throws {
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var left = 1
            for len in 1..<16 {
                left = left * 2 - counts[len]
                if left < 0 { throw PNGImage.DecodeError(description: "over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (sym, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = sym
                offsets[l] += 1
            }
        }
    }

    mutating func bits(_ n: Int) throws -> Int {
        var v = 0
        for i in 0..<n {
            let byte = bitPos >> 3
            guard byte < data.count else { throw PNGImage.DecodeError(description: "deflate stream ends early") }
            v |= Int((data[byte] >> UInt8(bitPos & 7)) & 1) << i
            bitPos += 1
        }
        return v
    }

    mutating func decode(_ h: Huffman) throws -> Int {
        var code = 0, first = 0, index = 0
        for len in 1..<16 {
            code |= try bits(1)
            let count = h.counts[len]
            if code - count < first { return h.symbols[index + (code - first)] }
            index += count
            first += count
            first <<= 1
            code <<= 1
        }
        throw PNGImage.DecodeError(description: "invalid Huffman code")
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                           4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    mutating func run() throws -> [UInt8] {
        var last = 0
        repeat {
            last = try bits(1)
            switch try bits(2) {
            case 0:
                bitPos = (bitPos + 7) & ~7
                let len = try bits(16), nlen = try bits(16)
                guard len == ~nlen & 0xFFFF, bitPos / 8 + len <= data.count else { throw PNGImage.DecodeError(description: "bad stored block") }
                out += data[(bitPos / 8)..<(bitPos / 8 + len)]
                bitPos += len * 8
            case 1:
                let lit = try Huffman(lengths: Array(repeating: 8, count: 144) + Array(repeating: 9, count: 112)
                                      + Array(repeating: 7, count: 24) + Array(repeating: 8, count: 8))
                try codes(lit, try Huffman(lengths: Array(repeating: 5, count: 30)))
            case 2:
                let nlen = try bits(5) + 257, ndist = try bits(5) + 1, ncode = try bits(4) + 4
                let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
                var clen = [Int](repeating: 0, count: 19)
                for i in 0..<ncode { clen[order[i]] = try bits(3) }
                let lencode = try Huffman(lengths: clen)
                var lengths: [Int] = []
                while lengths.count < nlen + ndist {
                    let sym = try decode(lencode)
                    switch sym {
                    case 0..<16: lengths.append(sym)
                    case 16:
                        guard let prev = lengths.last else { throw PNGImage.DecodeError(description: "repeat with no previous length") }
                        lengths += Array(repeating: prev, count: 3 + (try bits(2)))
                    case 17: lengths += Array(repeating: 0, count: 3 + (try bits(3)))
                    default: lengths += Array(repeating: 0, count: 11 + (try bits(7)))
                    }
                }
                guard lengths.count == nlen + ndist else { throw PNGImage.DecodeError(description: "too many code lengths") }
                try codes(try Huffman(lengths: Array(lengths[0..<nlen])), try Huffman(lengths: Array(lengths[nlen...])))
            default:
                throw PNGImage.DecodeError(description: "invalid deflate block type 3")
            }
        } while last == 0
        return out
    }

    mutating func codes(_ lit: Huffman, _ dist: Huffman) throws {
        while true {
            let sym = try decode(lit)
            if sym < 256 { out.append(UInt8(sym)); continue }
            if sym == 256 { return }
            let li = sym - 257
            guard li < 29 else { throw PNGImage.DecodeError(description: "invalid length symbol \(sym)") }
            let len = Self.lengthBase[li] + (try bits(Self.lengthExtra[li]))
            let di = try decode(dist)
            guard di < 30 else { throw PNGImage.DecodeError(description: "invalid distance symbol \(di)") }
            let d = Self.distBase[di] + (try bits(Self.distExtra[di]))
            guard d <= out.count else { throw PNGImage.DecodeError(description: "distance \(d) before the start") }
            let start = out.count - d
            for i in 0..<len { out.append(out[start + i]) }
        }
    }
}
