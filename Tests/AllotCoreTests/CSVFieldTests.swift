import Testing

@testable import AllotCore

struct CSVFieldTests {
    @Test(arguments: [
        ("plain", "plain"), ("", ""), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("two\nlines", "\"two\nlines\""),
        ("cr\ronly", "\"cr\ronly\""), ("crlf\r\nend", "\"crlf\r\nend\""), ("\"\u{301}", "\"\"\"\u{301}\""),
    ])
    func aFieldIsQuotedWhenItHoldsACommaAQuoteOrALineBreak(_ text: String, _ written: String) {
        #expect(CSVField.quote(text) == written)
    }
}
