// MQSimulation: a packed model as C99 source, the "generated C array" way of embedding a model
// in firmware (the other way is .incbin of the .mqm file; boards/CMakeLists.txt offers both).

import Foundation

public enum CArray {
    /// C source defining `const uint8_t SYMBOL[]` (16-byte aligned, so the runtime can read the
    /// constants in place) and `const uint32_t SYMBOL_size`. Same declarations as
    /// boards/common/bin2c.cmake, so either file can be passed to the firmware build as MQ_MODEL_C.
    public static func source(bytes: [UInt8], symbol: String, sourceName: String) throws -> String {
        guard let first = symbol.unicodeScalars.first,
              CharacterSet.letters.contains(first) || first == "_",
              symbol.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "_" }),
              symbol.allSatisfy({ $0.isASCII }) else {
            throw SimulationError.inputMismatch(input: "--symbol", reason: "'\(symbol)' is not a C identifier")
        }
        let hex: [String] = (0..<256).map { String(format: "0x%02x,", $0) }
        var s = "/* Generated from \(sourceName) by `swift run simulate --emit-c-array`: do not edit. */\n"
        s += "#include <stdint.h>\n\n"
        s += "const uint8_t \(symbol)[] __attribute__((aligned(16))) = {\n"
        if bytes.isEmpty { s += "    0x00\n" }
        var i = 0
        while i < bytes.count {
            let line = bytes[i..<min(i + 16, bytes.count)].map { hex[Int($0)] }.joined()
            s += "    " + line + "\n"
            i += 16
        }
        s += "};\nconst uint32_t \(symbol)_size = \(bytes.count)u;\n"
        return s
    }
}
