import Foundation
import Testing

/// Headless Chromium: `$ATTNSIM_CHROMIUM`, else the first of chromium, chromium-browser,
/// google-chrome on PATH (Scripts/test installs Debian's `chromium` in CI).
enum Chromium {
    static let executable: String? = {
        let env = ProcessInfo.processInfo.environment
        if let p = env["ATTNSIM_CHROMIUM"], !p.isEmpty { return FileManager.default.isExecutableFile(atPath: p) ? p : nil }
        for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome"] {
                let p = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: p) { return p }
            }
        }
        return nil
    }()

    /// The browser tests' condition: run where Chromium is installed, else skipped saying so.
    static let installed: ConditionTrait = .enabled(if: executable != nil,
        "Chromium not found (set ATTNSIM_CHROMIUM or install Debian's chromium; Scripts/test does in CI): browser rendering NOT checked")

    /// Screenshots `file` (an SVG) at width × height; returns the PNG's bytes.
    static func screenshot(_ file: URL, width: Int, height: Int, dir: URL) throws -> Data {
        let png = dir.appendingPathComponent("shot.png")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable!)
        // --no-sandbox: tests run as root in CI; a private profile so parallel runs do not share one.
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                       "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
                       "--screenshot=\(png.path)", "--window-size=\(width),\(height)", file.absoluteString]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // A hung browser must not hang the suite: give up after two minutes (not a timing assertion).
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return try Data(contentsOf: png)
    }
}

@Suite struct PlotBrowserTests {
    static let width = 720, height = 480

    /// `attnsim sweep Configs/sweep-small.yaml`, then `attnsim plot` of its CSV with `plotArgs`, rendered
    /// by Chromium at width × height: the SVG's text and the screenshot. `ATTNSIM_KEEP_SCREENSHOT=DIR`
    /// keeps both (as NAME.svg and NAME.png) for a person to look at.
    func renderSweepPlot(_ plotArgs: [String], name: String) throws -> (svg: String, image: PNGImage) {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let csv = dir.appendingPathComponent("sweep.csv"), svg = dir.appendingPathComponent("\(name).svg")
        let sweep = try CLI.run(["sweep", "Configs/sweep-small.yaml", "--out", csv.path, "--quiet"])
        try #require(sweep.status == 0, "\(sweep.stderr)")
        let plot = try CLI.run(["plot", csv.path] + plotArgs + ["--out", svg.path])
        try #require(plot.status == 0, "\(plot.stderr)")
        let text = try String(contentsOf: svg, encoding: .utf8)
        let shot = try Chromium.screenshot(svg, width: Self.width, height: Self.height, dir: dir)
        if let keep = ProcessInfo.processInfo.environment["ATTNSIM_KEEP_SCREENSHOT"], !keep.isEmpty {
            try? shot.write(to: URL(fileURLWithPath: keep).appendingPathComponent("\(name).png"))
            try? Data(text.utf8).write(to: URL(fileURLWithPath: keep).appendingPathComponent("\(name).svg"))
        }
        let image = try PNGImage(data: shot)
        #expect(image.width == Self.width && image.height == Self.height)
        return (text, image)
    }

    /// The README's sweep, plotted as its Pareto front and rendered by a real browser: the screenshot is
    /// the window's size, has ink but is mostly white background, shows the axis titles (dark pixels in
    /// the bands where they are drawn) and the markers' colours; the SVG carries the titles with units.
    @Test(Chromium.installed)
    func sweepParetoPlotRendersInChromium() throws {
        let (text, image) = try renderSweepPlot(["--x", "energy_pj", "--y", "rel_l2_error", "--color", "attention.pruning.k",
                                                 "--where", "phase=prefill", "--title", "sweep-small, prefill"], name: "pareto")
        #expect(text.contains(">energy_pj [×10⁸ pJ]</text>"))
        #expect(text.contains(">rel_l2_error [relative L2]</text>"))
        #expect(text.contains(">Pareto front</text>"))
        #expect(text.contains("font-weight=\"bold\">k</text>"))

        let width = Self.width, height = Self.height
        let nonWhite = image.count(0..<width, 0..<height) { !image.isWhite($0, $1) }
        #expect(nonWhite > width * height / 100, "blank screenshot: \(nonWhite) non-white pixels")
        #expect(nonWhite < width * height / 2, "screenshot mostly non-white: \(nonWhite) pixels")
        // The x-axis title is drawn centred under the plot, 18 px above the bottom edge; the y-axis
        // title rotated at x = 20 (SVGPlot's layout).
        #expect(image.count(150..<400, (height - 34)..<(height - 10), image.isDark) > 50, "no x-axis title ink")
        #expect(image.count(8..<26, 100..<380, image.isDark) > 50, "no y-axis title ink")
        // The legend column (right of the plot) has the group titles and the Pareto key.
        #expect(image.count((width - 170)..<width, 20..<200, image.isDark) > 50, "no legend ink")
        // Markers in the palette's first colour (#1f77b4, k = 8).
        let blue = image.count(0..<width, 0..<height, image.isFirstPaletteColour)
        #expect(blue > 30, "no k = 8 markers: \(blue) pixels of #1f77b4")
    }

    /// config_id as a categorical x axis against energy on a log y axis: the ids are the tick labels
    /// (thinned, not overlapping), the y title says log scale, there is no Pareto front, and the
    /// browser draws tick-label ink under the plot and the markers.
    @Test(Chromium.installed)
    func categoricalAndLogAxesRenderInChromium() throws {
        let (text, image) = try renderSweepPlot(["--x", "config_id", "--y", "energy_pj", "--y-scale", "log",
                                                 "--color", "attention.pruning.k", "--where", "phase=prefill"], name: "categorical-log")
        #expect(text.contains(">energy_pj [pJ] (log scale)</text>"))
        #expect(text.contains(">config_id</text>"))
        #expect(!text.contains(">Pareto front</text>"))
        // 18 prefill points, 18 configs: config ids (12 hex digits) are the x tick labels, some thinned out.
        let idLabels = text.matches(of: try Regex(#"<text[^>]*>[0-9a-f]{12}</text>"#)).count
        #expect(idLabels >= 2 && idLabels < 18, "\(idLabels) config_id tick labels")
        // Under a factor of 2.5 in energy: every multiple of 10⁸ is a labelled y tick.
        #expect(text.contains(">5×10⁸</text>"))

        let width = Self.width, height = Self.height
        // Tick labels sit 19 px under the plot's bottom edge (height − 62); the y title at x = 20.
        #expect(image.count(84..<(width - 176), (height - 56)..<(height - 36), image.isDark) > 80, "no x tick-label ink")
        #expect(image.count(8..<26, 100..<380, image.isDark) > 50, "no y-axis title ink")
        let blue = image.count(0..<width, 0..<height, image.isFirstPaletteColour)
        #expect(blue > 30, "no k = 8 markers: \(blue) pixels of #1f77b4")
    }

    /// The decoder itself on a PNG built by hand with a stored (uncompressed) deflate block: a 2 × 2
    /// RGB image with the Sub and Up filters.
    @Test func pngDecoderReadsStoredBlocksAndFilters() throws {
        // Rows: filter 1 (Sub) [10,20,30, +5,+5,+5], filter 2 (Up) [+1,+1,+1, +2,+2,+2].
        let raw: [UInt8] = [1, 10, 20, 30, 5, 5, 5, 2, 1, 1, 1, 2, 2, 2]
        var a: UInt32 = 1, b: UInt32 = 0
        for x in raw { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        let adler = b << 16 | a
        let zlib: [UInt8] = [0x78, 0x01, 0x01, UInt8(raw.count), 0, ~UInt8(raw.count), 0xFF] + raw
            + [UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF)]
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let tb = Array(type.utf8) + body
            let crc = PNGImage.crc32(tb)
            let n = UInt32(body.count)
            return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + tb
                + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        }
        let png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", [0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0])
            + chunk("IDAT", zlib) + chunk("IEND", [])
        let image = try PNGImage(data: Data(png))
        #expect(image.pixel(0, 0) == (10, 20, 30, 255))
        #expect(image.pixel(1, 0) == (15, 25, 35, 255))
        #expect(image.pixel(0, 1) == (11, 21, 31, 255))
        #expect(image.pixel(1, 1) == (17, 27, 37, 255))
        // The known CRC-32 of "IEND" (every PNG ends with AE 42 60 82).
        #expect(PNGImage.crc32(Array("IEND".utf8)) == 0xAE42_6082)
        // A flipped byte is caught by the checksums, not decoded into wrong pixels.
        var bad = png
        bad[png.count - 20] ^= 0x40
        #expect(throws: PNGImage.DecodeError.self) { try PNGImage(data: Data(bad)) }
    }
}


extension PNGImage {
    func isWhite(_ x: Int, _ y: Int) -> Bool { let p = pixel(x, y); return p.r > 245 && p.g > 245 && p.b > 245 }
    func isDark(_ x: Int, _ y: Int) -> Bool { let p = pixel(x, y); return Int(p.r) + Int(p.g) + Int(p.b) < 250 }
    /// Near #1f77b4, SVGPlot's first colour-group colour.
    func isFirstPaletteColour(_ x: Int, _ y: Int) -> Bool {
        let p = pixel(x, y)
        return abs(Int(p.r) - 0x1f) < 24 && abs(Int(p.g) - 0x77) < 24 && abs(Int(p.b) - 0xb4) < 24
    }
    /// How many pixels in the rectangle pass `f`.
    func count(_ xs: Range<Int>, _ ys: Range<Int>, _ f: (Int, Int) -> Bool) -> Int {
        var n = 0
        for y in ys { for x in xs where f(x, y) { n += 1 } }
        return n
    }
}
