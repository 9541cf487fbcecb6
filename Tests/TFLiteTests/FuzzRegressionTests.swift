// Regression cases of traps that `fuzz-readers` (the TFLite reader entry) found in the importer: each
// must now be a typed TFLiteImportError naming what is wrong. Fixtures/fuzz/ holds the saved mutants.
import Foundation
import Testing
import MQTFLite
import MQTFLiteImport
import MQQuantization

@Suite struct FuzzRegressionTests {
    /// A subgraph whose operator vector is empty: the importer named operator 0 for the model inputs'
    /// errors and indexed past the end of the (empty) operator list.
    @Test func subgraphWithoutOperators() throws {
        // constructed: a real fixture with its operators removed
        var m = try TFLiteReader.read(try fixtureBytes("tflite/add.tflite"), file: "add.tflite")
        #expect(!m.subgraphs[0].operators.isEmpty)
        m.subgraphs[0].operators = []
        do throws(TFLiteImportError) {
            _ = try TFLiteImporter.importModel(m, file: "add.tflite", name: "add")
            Issue.record("a model without operators imported")
        } catch {
            #expect(error == .model(file: "add.tflite", reason: "subgraph 0 has no operators"))
            #expect(error.description == "add.tflite: subgraph 0 has no operators")
        }
        // the mutant fuzz-readers saved (seed 42, batch seed 42000459), in both rounding modes
        let saved = try fixtureBytes("fuzz/no_operators.tflite")
        for rounding in RequantizeRounding.allCases {
            do throws(TFLiteImportError) {
                _ = try TFLiteImporter.importModel(bytes: saved, file: "no_operators.tflite", rounding: rounding)
                Issue.record("the saved mutant imported")
            } catch {
                #expect(error == .model(file: "no_operators.tflite", reason: "subgraph 0 has no operators"), "\(error)")
            }
        }
    }
}
