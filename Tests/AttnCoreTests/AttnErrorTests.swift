import Testing
@testable import AttnCore

@Test func errorLinesNameTheirLocation() {
    #expect(AttnError.config(file: "a.yaml", line: 3, column: 7, message: "tab indentation").description
            == "a.yaml:3:7: tab indentation")
    #expect(AttnError.input(file: "t.safetensors", item: "seq0.layer1.q", message: "expected F16").description
            == "t.safetensors: seq0.layer1.q: expected F16")
    #expect(AttnError.usage(flag: "--rows", message: "expected a positive integer, got 'x'").exitCode == 2)
    #expect(AttnError.runtime("disk full").exitCode == 1)
}
