import AllotAPI
import Testing

@testable import AllotCloud

/// Providers' cost files read into one row per UTC day, resource and service.
struct BillingFileTests {
    @Test func focusRowsAreSummedPerDayResourceAndService() throws {
        let text = """
            BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ProviderName,ResourceId,ResourceName,ServiceName
            1.25,USD,2026-11-02T00:00:00Z,2026-11-02T01:00:00Z,AWS,i-0abc,,Amazon EC2
            1.75,USD,2026-11-02T23:00:00.000Z,2026-11-03T00:00:00Z,AWS,i-0abc,,Amazon EC2
            0.50,USD,2026-11-02T16:00:00-08:00,2026-11-02T17:00:00-08:00,AWS,i-0abc,,Amazon EC2
            -0.40,USD,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,Microsoft,,"vm one, westeurope",Virtual Machines
            2,USD,2026-11-03T00:00:00Z,2026-11-04T00:00:00Z,Google Cloud,,,Support

            """
        let rows = try BillingFile.rows(text)
        #expect(rows.count == 4)
        // The -08:00 row is 00:00 UTC on the 3rd.
        #expect(rows[0] == BilledCost(source: "focus", day: "2026-11-02", resource: "i-0abc", service: "Amazon EC2", cloud: "aws", cost: 3))
        #expect(rows[1].day == "2026-11-03" && rows[1].cost == 0.5 && rows[1].resource == "i-0abc")
        #expect(rows[2].resource == "vm one, westeurope" && rows[2].cloud == "azure" && rows[2].cost == -0.4)
        #expect(rows[3].resource == "" && rows[3].cloud == "gcp")
    }

    @Test func gcpExportRowsAddTheirCredits() throws {
        let text = """
            billing_account_id,service.description,sku.description,usage_start_time,usage_end_time,project.id,resource.name,resource.global_name,cost,currency,credits
            0X,Compute Engine,N1 core,2026-11-02 08:00:00 UTC,2026-11-02 09:00:00 UTC,p,n1,//compute.googleapis.com/projects/p/zones/z/instances/123,2.00,USD,"[{""name"":""SUD"",""amount"":-0.5}]"
            0X,Compute Engine,N1 ram,2026-11-02 09:00:00 UTC,2026-11-02 10:00:00 UTC,p,n1,//compute.googleapis.com/projects/p/zones/z/instances/123,1.00,USD,[]
            0X,Cloud Storage,Standard,2026-11-02 09:00:00 UTC,2026-11-02 10:00:00 UTC,p,,,0.10,USD,
            """
        let rows = try BillingFile.rows(text)
        #expect(rows.count == 2)
        #expect(rows[0].source == "gcp-billing-export" && rows[0].cost == 2.5 && rows[0].resource.hasSuffix("/instances/123"))
        #expect(rows[1].service == "Cloud Storage" && rows[1].resource == "")
    }

    @Test func otherFilesAndBadCellsAreRefusedWithTheLine() {
        #expect(throws: BillingFile.Failure.self) { try BillingFile.rows("a,b\n1,2\n") }
        #expect(throws: BillingFile.Failure("line 3: BilledCost is not a number")) {
            try BillingFile.rows("BilledCost,ChargePeriodStart\n1,2026-11-02T00:00:00Z\nx,2026-11-02T00:00:00Z\n")
        }
        #expect(throws: BillingFile.Failure("line 2: credits is not a JSON list")) {
            try BillingFile.rows("usage_start_time,cost,credits\n2026-11-02 08:00:00 UTC,1,oops\n")
        }
    }
}
