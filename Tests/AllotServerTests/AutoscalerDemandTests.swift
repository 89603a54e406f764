import AllotAPI
import AllotCloud
import AllotCore
import Testing

@testable import AllotServer

/// What the autoscaler asks of a new machine for a job with inputs: the data's place from the file's
/// `dataLocations` (longest prefix), its size, and the job's hours.
struct AutoscalerDemandTests {
    @Test func inputsInKnownPlacesBecomeDataToWeighAgainstPrices() throws {
        var configuration = AutoscalerConfiguration(
            regions: ["us-east-1", "us-west-2"],
            maxNodes: 4,
            maxSpendPerHour: 100,
            serverURL: "http://s:7070"
        )
        configuration.dataLocations = ["s3://lake/": "aws/us-east-1", "s3://lake/eu/": "aws/eu-west-1", "gs://mirror/": "gcp/us-central1"]
        #expect(configuration.location(of: "s3://lake/eu/clips/").map { [$0.cloud, $0.region] } == ["aws", "eu-west-1"])
        #expect(configuration.location(of: "s3://other/x") == nil)
        let task = TaskSpec(
            id: TaskID("j"),
            requests: ResourceRequest(resources: ResourceVector(cpuMillis: 1_000, memoryBytes: 1 << 30)),
            estimateSeconds: 36_000
        )
        var job = Job(id: "j", task: task, command: ["true"], sequence: 1, submittedAt: 0)
        job.inputs = [JobInput(url: "s3://lake/clips/", bytes: 5_000_000_000_000), JobInput(url: "s3://elsewhere/x", bytes: 9)]
        let demand = Autoscaler.demand(job, configuration: configuration)
        #expect(demand.data == [DataLocation(cloud: "aws", region: "us-east-1", bytes: 5_000_000_000_000)])
        #expect(demand.hours == 10)
        configuration.dataLocations = ["s3://lake/": "us-east-1"]
        #expect(throws: InputError.self) { try configuration.validate() }
    }
}
