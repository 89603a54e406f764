import Testing

@testable import AllotAPI

struct CostFormatTests {
    @Test func datesAreUTCAndRoundTrip() {
        #expect(CostDates.timestamp(0) == "1970-01-01T00:00:00Z")
        #expect(CostDates.timestamp(1_795_428_383) == "2026-11-23T10:06:23Z")
        #expect(CostDates.day(1_795_428_383) == "2026-11-23")
        #expect(CostDates.parse("2026-11-23T10:06:23Z") == 1_795_428_383)
        #expect(CostDates.parse("2026-11-23") == 1_795_392_000)
        #expect(CostDates.parse("1795428383.5") == 1_795_428_383.5)
        #expect(CostDates.parse("2026-13-01") == nil && CostDates.parse("yesterday") == nil)
        // December's month ends at the next year's first instant; leap years count.
        let december = CostDates.month(CostDates.parse("2026-12-15")!)
        #expect(CostDates.timestamp(december.start) == "2026-12-01T00:00:00Z" && CostDates.timestamp(december.end) == "2027-01-01T00:00:00Z")
        let february = CostDates.month(CostDates.parse("2028-02-10")!)
        #expect((february.end - february.start) / 86_400 == 29)
    }

    @Test func focusAmountsAreDecimalsWithoutExponents() {
        #expect(FocusExport.format(0.0010588773) == "0.0010588773")
        #expect(FocusExport.format(2.5) == "2.5")
        #expect(FocusExport.format(21.96) == "21.96")
        #expect(FocusExport.format(0) == "0")
        #expect(FocusExport.format(1e-12) == "0")
        #expect(FocusExport.format(-3.25) == "-3.25")
        #expect(FocusExport.format(1_234_567.125) == "1234567.125")
    }

    @Test func budgetWindowsAreUTCDaysAndMonths() {
        let time = CostDates.parse("2026-11-23T10:00:00Z")!
        let month = Budget(name: "m", amount: 1).window(at: time)
        #expect(month.name == "2026-11" && month.start == CostDates.parse("2026-11-01") && month.end == CostDates.parse("2026-12-01"))
        let day = Budget(name: "d", period: .day, amount: 1).window(at: time)
        #expect(day.name == "2026-11-23" && day.end - day.start == 86_400)
    }
}
