import Redaction
import Testing

/// Held-out markup (issue #12): values whose shape alone is ambiguous, typed by the HTML around them — the text of
/// the element before theirs, or the field name of the tag whose `value` attribute they are.
@Suite("Field context in markup: element text and input names type bare digits")
struct MarkupContextTests {
    let engine = RedactionEngine()

    @Test("Definition lists and table cells: the text of the element before the value's names it")
    func elementText() {
        let text = """
            <dl>
              <dt>SSN</dt><dd>518403127</dd>
              <dt>Phone</dt><dd>2065550143</dd>
              <dt>Employee ID</dt><dd>401239876</dd>
            </dl>
            <table><tr><td>Social security no.</td> <td>287650934</td></tr>
            <tr><td>Order</td><td>731024568</td></tr></table>
            <label for="s">Soc. Sec. #</label>
            <span class="v">402118765</span>
            """
        #expect(labelled(engine, text) == ["US_SSN:518403127", "PHONE:2065550143", "US_SSN:287650934", "US_SSN:402118765"])
    }

    @Test("An input's value is typed by its name, id or aria-label, before or after the value")
    func inputValues() {
        let text = """
            <input type="text" id="social-security-number" name="social-security-number" value="153299996">
            <input value='402118765' name=applicant_ssn>
            <input type="tel" aria-label="Mobile phone" value="4155550134"/>
            <input type="text" name="order_number" value="401239876">
            <input type="text" value="287650934">
            """
        #expect(labelled(engine, text) == ["US_SSN:153299996", "US_SSN:402118765", "PHONE:4155550134"])
    }

    @Test("Nine digits after tags whose text names something else, or nothing, stay")
    func negatives() {
        for text in [
            "<dt>Employee ID</dt><dd>401239876</dd>", "<td>518403127</td>", "<p>Invoice</p>\n<p>287650934</p>",
            "<ssn>078-05-1121</ssn><account>401239876</account>", "<dt>SSN</dt><dd>n/a</dd><dd>401239876</dd><dd>x</dd><dd>y</dd><dd>z</dd>",
        ] {
            #expect(!labelled(engine, text).contains { $0.hasSuffix("401239876") || $0.hasSuffix("287650934") || $0 == "US_SSN:518403127" }, "\(text)")
        }
    }

    @Test("No phone number inside a long run of digit groups with one separator; a phone after a date still counts")
    func longGroupedRuns() {
        #expect(labelled(engine, "tracking 9400 1118 9956 1234 5678 90 today", ["PHONE"]) == [])
        #expect(labelled(engine, "ref 1234-5678-9012-3456-7890-1234-5678 ok", ["PHONE"]) == [])
        #expect(labelled(engine, "logged 2024-03-15 415-555-0134 twice", ["PHONE"]) == ["PHONE:415-555-0134"])
        #expect(labelled(engine, "call 415 555 0134 now", ["PHONE"]) == ["PHONE:415 555 0134"])
    }
}
