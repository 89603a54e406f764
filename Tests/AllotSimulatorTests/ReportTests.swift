import Foundation
import Testing

@testable import AllotSimulator

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite struct ReportTests {
    final class Collector: NSObject, XMLParserDelegate {
        var svgTitles: [String] = []
        var depthInSVG = 0
        var readingTitle = false
        var attributes: [String: String] = [:]

        func parser(
            _ parser: XMLParser,
            didStartElement element: String,
            namespaceURI: String?,
            qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            for (key, value) in attributes { self.attributes[element + "@" + key] = value }
            if element == "svg" { depthInSVG += 1 }
            if element == "title", depthInSVG > 0, svgTitles.count < 100 {
                readingTitle = true
                svgTitles.append("")
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if readingTitle { svgTitles[svgTitles.count - 1] += string }
        }

        func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
            if element == "svg" { depthInSVG -= 1 }
            if element == "title" { readingTitle = false }
        }
    }

    @Test func reportParsesWithOneSVGPerPlotAndNothingFetched() throws {
        let trace = try PhillyTrace.read(try TraceFiles.text(TraceFiles.philly100))
        let setup = SimulationSetup(nodes: SimulationSetup.uniformNodes(count: 4, gpusPerNode: 4))
        let runs = try [SimulationPolicy.fifo, .las].map { try Simulator(trace: trace, setup: setup).run($0) }
        let html = SimulationReport(summary: SimulationSummary(trace: trace, setup: setup, runs: runs), title: "Philly <100> & co").html()
        let parser = XMLParser(data: Data(html.utf8))
        let collector = Collector()
        parser.delegate = collector
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(html.components(separatedBy: "<svg ").count - 1 == SimulationReport.plots.count)
        for plot in SimulationReport.plots { #expect(collector.svgTitles.contains(plot)) }
        #expect(html.contains("Philly &lt;100&gt; &amp; co"))
        // Self-contained: no scripts, no linked resources, no URL but the SVG namespace.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=") && !html.contains("<link"))
        #expect(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").range(of: "http") == nil)
        #expect(html.contains("<td>las</td>") && html.contains("<td>fifo</td>"))
    }

    @Test func timeWeightedBuckets() {
        // 2 until t=5, then 4 until the end at 10: buckets of 5 s average 2 and 4; of 2.5 s, 2, 2, 4, 4.
        let times = [0.0, 5]
        let values = [2.0, 4]
        #expect(SimulationReport.bucketed(times, values, end: 10, buckets: 2).map(\.y) == [2, 4])
        #expect(SimulationReport.bucketed(times, values, end: 10, buckets: 4).map(\.y) == [2, 2, 4, 4])
        // A change mid-bucket is weighted by the time each value held.
        #expect(SimulationReport.bucketed([0, 2.5], values, end: 10, buckets: 2).map(\.y) == [3, 4])
        let cdf = SimulationReport.cdf([3, 1, 2, 4], points: 2)
        #expect(cdf.map(\.x) == [2, 4] && cdf.map(\.y) == [0.5, 1])
    }
}
