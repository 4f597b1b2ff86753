import Redaction
import Testing

/// `LABEL:value` for every span of `labels` the engine finds under profile `all`, in order.
func labelled(_ engine: RedactionEngine, _ text: String, _ labels: Set<String> = ["US_SSN", "PHONE", "DATE"]) -> [String] {
    let scalars = Array(text.unicodeScalars)
    return engine.spans(in: scalars, profile: "all").filter { labels.contains($0.label) }.map { span in
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[span.start..<span.end])
        return "\(span.label):\(String(view))"
    }
}

/// Held-out texts written for these tests (not from the development corpus): identifiers whose shape alone is
/// ambiguous, typed by the structure around them — column headers of delimited text, labels, JSON/YAML field names.
@Suite("Field context: column headers, labels and field names type bare digits")
struct FieldContextTests {
    let engine = RedactionEngine()

    @Test("CSV with quoted fields: the header types each column; other 9-digit columns stay")
    func csv() {
        let text = """
            employee_id,full_name,ssn,date_of_birth,mobile
            401239876,"Okafor, Chidi",518403127,19790214,2065550143
            401239877,"Lindqvist, Maja","287-65-0934",1983-11-30,(425)555-0187
            401239878,"Duarte, Ines",666123456,19910705,"425.555.0121"
            """
        #expect(labelled(engine, text) == [
            "US_SSN:518403127", "DATE:19790214", "PHONE:2065550143",
            "US_SSN:287-65-0934", "DATE:1983-11-30", "PHONE:(425)555-0187",
            "DATE:19910705", "PHONE:425.555.0121",
        ])
    }

    @Test("Exact offsets of cells in a CSV row")
    func offsets() {
        let text = "id,ssn,tel\n7,518403127,2065550143\n"
        let spans = engine.spans(in: Array(text.unicodeScalars), profile: "all")
        #expect(spans == [
            DetectedSpan(start: 13, end: 22, label: "US_SSN"), DetectedSpan(start: 23, end: 33, label: "PHONE"),
        ])
        #expect(engine.redact(text, profile: "all").text == "id,ssn,tel\n7,[US_SSN],[PHONE]\n")
    }

    @Test("TSV: a ZIP+4 column without its hyphen is not an SSN")
    func tsv() {
        let text = "member\tsoc_sec_no\ttel\tzip\nM-1183\t731024568\t555 201 7788\t981091234\nM-1184\t402118765\t5552017789\t606101234\n"
        #expect(labelled(engine, text) == [
            "US_SSN:731024568", "PHONE:555 201 7788", "US_SSN:402118765", "PHONE:5552017789",
        ])
    }

    @Test("Markdown and pipe-delimited tables, semicolon-separated values")
    func pipes() {
        let markdown = """
            | Name | SSN | Phone |
            |------|-----|-------|
            | Ada Brook | 350279913 | 503/555/0199 |
            | Tom Reyes | 402-11-8765 | 5035550123 |
            """
        #expect(labelled(engine, markdown) == [
            "US_SSN:350279913", "PHONE:503/555/0199", "US_SSN:402-11-8765", "PHONE:5035550123",
        ])
        #expect(labelled(engine, "case|Social Security Number|fax\n88|611027734|3125550110\n") == [
            "US_SSN:611027734", "PHONE:3125550110",
        ])
        #expect(labelled(engine, "Name;SSN;Tel\nMaja;287650934;+46701234567\n") == ["US_SSN:287650934", "PHONE:+46701234567"])
    }

    @Test("A lone field name heads a one-column list, up to a blank line or another table's header")
    func oneColumn() {
        let text = "SSNs:\n518403127\n287\u{2013}65\u{2013}0934\n---\n402118765\n\n611027734\nPhone\n2065550143\nname,dob\nAnn,19790214\n"
        #expect(labelled(engine, text) == [
            "US_SSN:518403127", "US_SSN:287\u{2013}65\u{2013}0934", "US_SSN:402118765", "PHONE:2065550143", "DATE:19790214",
        ])
    }

    @Test("A table ends at a blank line; rows of another width are skipped")
    func tableEnds() {
        let text = "name,ssn\nAnn,518403127\nBo,1,287650934\n\nticket,ref\nQ1,287650934\n"
        #expect(labelled(engine, text) == ["US_SSN:518403127"])
    }

    @Test("JSON field names, compact and pretty-printed; a taxpayer id may be an ITIN")
    func json() {
        let compact = #"{"customer":{"name":"Rae Lin","ssn":"455019283","taxpayer_id":"912703344","order_id":"455019284","phone":"+1 555 123 4567","alt_phone":"5551239876"}}"#
        #expect(labelled(engine, compact) == [
            "US_SSN:455019283", "US_SSN:912703344", "PHONE:+1 555 123 4567", "PHONE:5551239876",
        ])
        let pretty = """
            {
              "socialSecurityNumber": 240981155,
              "routingNumber": "021000021",
              "birthDate": "19900814",
              "homePhone": "7735550198"
            }
            """
        #expect(labelled(engine, pretty) == ["US_SSN:240981155", "DATE:19900814", "PHONE:7735550198"])
    }

    @Test("YAML, key=value logs, XML and forms")
    func labels() {
        let yaml = "applicant:\n  ssn: '518403127'\n  zip4: 981091234\n  dob: 08/14/1990\n  cellPhone: 555.987.6543 x204\n"
        #expect(labelled(engine, yaml) == ["US_SSN:518403127", "DATE:08/14/1990", "PHONE:555.987.6543 x204"])
        let log = "ts=1764000000 level=info user=u_8812 ssn=301558742 zip4=606111234 tel=7735550198 msg=\"verified\""
        #expect(labelled(engine, log) == ["US_SSN:301558742", "PHONE:7735550198"])
        let xml = "<person><SSN>602114893</SSN><account>602114894</account><Mobile>3125550110</Mobile></person>"
        #expect(labelled(engine, xml) == ["US_SSN:602114893", "PHONE:3125550110"])
        let form = "Applicant form\nSocial Security No.:\n    532184470\nPhone (home): 3125550110\nD.O.B.: 031285\n"
        #expect(labelled(engine, form) == ["US_SSN:532184470", "PHONE:3125550110", "DATE:031285"])
        // Values under their labels: a label of another field ends the one above.
        let stacked = "tel:\n    7735550198\naccount:\n    159486466\nrouting_number:\n    806866056\n"
        #expect(labelled(engine, stacked) == ["PHONE:7735550198"])
    }

    @Test("Prose labels: designators and linking words between the name and the value")
    func prose() {
        let text = "Her soc sec # is 414550021 and the SSN on file reads 287650934; reach her on 2065550143."
        #expect(labelled(engine, text) == ["US_SSN:414550021", "US_SSN:287650934", "PHONE:2065550143"])
        let update = "Update: phone changed to 8482883341; claim 848288334 was updated to 848288335."
        #expect(labelled(engine, update) == ["PHONE:8482883341"])
        let leaders = "INTAKE\nPatient SSN ..........: 612044873\nPhone (cell) .........: 13849562820\nPolicy # ....: 612044874\n"
        #expect(labelled(engine, leaders) == ["US_SSN:612044873", "PHONE:13849562820"])
    }

    @Test("Qualified names: a parenthesised qualifier, a plain/raw suffix, `+` and `/` in headers")
    func qualifiedNames() {
        let tsv = "Name\tSSN (no dashes)\tInvoice No\tWork Tel\nAna Ruiz\t756763110\t6553019350\t755.492.6852\n"
        #expect(labelled(engine, tsv) == ["US_SSN:756763110", "PHONE:755.492.6852"])
        let csv = "ZIP+4,Home Ph,TIN/SSN,DOB (YYYYMMDD)\n846642055,3239155589,442965152,19820411\n"
        #expect(labelled(engine, csv) == ["PHONE:3239155589", "US_SSN:442965152", "DATE:19820411"])
        #expect(labelled(engine, "ssn_plain=083154707 ssn_hash=083154708") == ["US_SSN:083154707"])
        #expect(labelled(engine, "a callback number of 3398385701, ticket 3398385702") == ["PHONE:3398385701"])
    }

    @Test("Nine digits without SSN context are not SSNs", arguments: [
        "Order 518403127 ships to ZIP 981091234.", "routing_number: 021000021", "invoice,amount\n518403127,12.50\n",
        "ssn_hash: 518403127", "ssn_verified_at: 1764000000", "id,ssn\n518403127,pending\n", "Name: Ann\n518403127",
        "tracking=518403127 status=ok", "{\"npi\": \"518403127\"}",
    ])
    func notSSN(_ text: String) {
        #expect(labelled(engine, text, ["US_SSN"]).isEmpty, "\(text)")
    }

    @Test("Labelled values still obey the SSN rules; only taxpayer ids allow areas 900–999", arguments: [
        ("ssn: 000123456", false), ("ssn: 666123456", false), ("ssn: 900123456", false), ("ssn: 123006789", false),
        ("ssn: 123450000", false), ("itin: 900703456", true), ("TIN: 518403127", true), ("ssn: 518.40.3127", true),
    ])
    func rules(_ text: String, _ detected: Bool) {
        #expect(labelled(engine, text, ["US_SSN"]).count == (detected ? 1 : 0), "\(text)")
    }

    @Test("A phone field takes digits only, but not other fields' numbers", arguments: [
        ("phone: 2065550143", true), ("Mobile No.: 98765 43210", true), ("tel. 0201234567", true), ("phone: 555-1234", true),
        ("Contact: 2065550143", true), ("phone: 1234", false), ("mobile_updated_at: 1764000000", false),
        ("order_no,phone\n1234567890,x\n", false), ("phone verified at 1764000000", false),
    ])
    func phoneFields(_ text: String, _ detected: Bool) {
        #expect(labelled(engine, text, ["PHONE"]).count == (detected ? 1 : 0), "\(text)")
    }

    @Test("Compact dates only in date-of-birth fields", arguments: [
        ("dob: 19850312", true), ("DOB\t19850312", true), ("born 19850312", true), ("date: 19850312", false),
        ("dob: 19851312", false), ("batch 19850312", false),
    ])
    func birthDates(_ text: String, _ detected: Bool) {
        #expect(labelled(engine, text, ["DATE"]).count == (detected ? 1 : 0), "\(text)")
    }
}
