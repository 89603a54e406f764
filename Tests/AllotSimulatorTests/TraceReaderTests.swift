import AllotCore
import Testing

@testable import AllotSimulator

@Suite struct TraceReaderTests {
    @Test func phillyFullTrace() throws {
        let text = try TraceFiles.text(TraceFiles.philly)
        #expect(TraceFormat.detect(text) == .philly)
        let trace = try PhillyTrace.read(text)
        #expect(trace.jobs.count == 82_247)
        // Sorted by submit time from 2017-09-04 10:30:41 (time 0).
        #expect(trace.jobs.first?.submit == 0)
        #expect(zip(trace.jobs, trace.jobs.dropFirst()).allSatisfy { $0.submit <= $1.submit })
        // The dataset README's example job: VC ee9e8c, submitted 2017-10-07 01:11:39, 8 GPUs, 74 s + 193,182 s.
        let example = trace.jobs.filter { $0.tenant == "ee9e8c" && $0.duration == 193_256 && $0.gpus == 8 }
        #expect(example.count == 1)
        #expect(example.first?.submit == 2_817_658)
        #expect(example.first?.cpuMillis == 64_000)
        #expect(example.first?.memoryBytes == 320 << 30)
        // 978,078 GPU-hours in all; 15 virtual clusters; 76,627 single-GPU jobs.
        let gpuHours = trace.jobs.reduce(0) { $0 + $1.gpuSeconds } / 3600
        #expect(abs(gpuHours - 978_078) < 1)
        #expect(Set(trace.jobs.map(\.tenant)).count == 15)
        #expect(trace.jobs.filter { $0.gpus == 1 }.count == 76_627)
        #expect(trace.jobs.map(\.gpus).max() == 128)
    }

    @Test func phillyWindowSubset() throws {
        let trace = try PhillyTrace.read(try TraceFiles.text(TraceFiles.philly100))
        #expect(trace.jobs.count == 100)
        #expect(trace.jobs.reduce(0) { $0 + $1.gpuSeconds } == 820_994)
        let third = trace.jobs[3]
        #expect(third == TraceJob(id: "3", submit: 1338, duration: 72_545, gpus: 1, cpuMillis: 8000, memoryBytes: 40 << 30, tenant: "ed69ec"))
        #expect(trace.jobs.last?.submit == 38_400)
        #expect(Set(trace.jobs.map(\.gpus)).isSubset(of: [1, 2, 4, 8]))
    }

    @Test func polluxWorkloads() throws {
        for number in 1...8 {
            let trace = try PolluxWorkload.read(try TraceFiles.text("philly/pollux_workloads/workload-\(number).csv"))
            #expect(trace.jobs.count == 160, "workload-\(number)")
        }
        let text = try TraceFiles.text("philly/pollux_workloads/workload-1.csv")
        #expect(TraceFormat.detect(text) == .pollux)
        let trace = try PolluxWorkload.read(text)
        // First row: cifar10-0 at 107 s with 6 replicas; times start at 0 after the shift.
        let first = try #require(trace.jobs.first)
        #expect(first.id == "cifar10-0" && first.submit == 0 && first.gpus == 6 && first.tenant == "cifar10")
        #expect(first.duration == 0.5 * 3600 / 6)
        let deepspeech = try #require(trace.jobs.first { $0.id == "deepspeech2-3" })
        #expect(deepspeech.submit == 262 - 107 && deepspeech.gpus == 12 && deepspeech.duration == 3.2 * 3600 / 12)
        #expect(
            Dictionary(grouping: trace.jobs, by: \.tenant).mapValues(\.count) == [
                "cifar10": 66, "ncf": 68, "deepspeech2": 12, "bert": 7, "yolov3": 3, "imagenet": 4,
            ]
        )
    }

    @Test func alibabaDLRMTrace() throws {
        let text = try TraceFiles.text(TraceFiles.alibaba)
        #expect(TraceFormat.detect(text) == .alibabaDLRM)
        let trace = try AlibabaDLRMTrace.read(text)
        #expect(trace.jobs.count == 23_871)
        #expect(trace.jobs.filter { $0.gpus == 1 }.count == 7386)
        #expect(trace.jobs.filter { $0.gpus == 0 }.count == 16_485)
        #expect(Set(trace.jobs.map(\.tenant)).count == 156)
        // instance_0 (HN, app_0, 12 CPU, 1 GPU, 120 GiB) lives through the whole trace: 0 to the last time seen.
        let first = try #require(trace.jobs.first { $0.id == "instance_0" })
        #expect(first.submit == 0 && first.gpus == 1 && first.cpuMillis == 12_000 && first.memoryBytes == 120 << 30 && first.tenant == "app_0")
        #expect(first.duration == 2_677_541)
        // instance_7281: created 610, scheduled 683, deleted 91,730.
        let bounded = try #require(trace.jobs.first { $0.id == "instance_7281" })
        #expect(bounded.submit == 610 && bounded.duration == 91_730 - 683 && bounded.cpuMillis == 64_000 && bounded.memoryBytes == 320 << 30)
    }

    @Test func allotFormatRoundTripsThroughCSVAndJSONLines() throws {
        let jobs = [
            TraceJob(
                id: "a",
                submit: 0,
                duration: 100,
                gpus: 2,
                cpuMillis: 16_000,
                memoryBytes: 80 << 30,
                tenant: "team-a",
                priority: 5,
                estimate: 120
            ),
            TraceJob(id: "b,quoted", submit: 12.5, duration: 30, gpus: 0, cpuMillis: 500, memoryBytes: 1 << 30, tenant: "team-b"),
        ]
        let csv = AllotTrace.csv(jobs)
        #expect(TraceFormat.detect(csv) == .allot)
        #expect(try AllotTrace.read(csv).jobs == jobs)
        let lines = """
            {"id":"a","submit":0,"duration":100,"gpus":2,"cpu":16,"memory":"80GiB","tenant":"team-a","priority":5,"estimate":120}
            {"id":"b,quoted","submit":12.5,"duration":30,"cpu":"500m","memory":1073741824,"tenant":"team-b"}
            """
        #expect(try AllotTrace.read(lines).jobs == jobs)
        // Defaults: no CPU or memory → per-GPU defaults; no tenant → default.
        let bare = try AllotTrace.read("submit,duration,gpus\n5,60,1\n")
        #expect(bare.jobs == [TraceJob(id: "0", submit: 0, duration: 60, gpus: 1, cpuMillis: 8000, memoryBytes: 40 << 30, tenant: "default")])
    }

    @Test func badInputNamesLineAndField() throws {
        #expect(throws: TraceError(line: 3, "duration 'soon' is not a number")) {
            try PhillyTrace.read("timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,66.0,1,66.0,a\n2017-10-09 07:01:56,soon,1,1,a\n")
        }
        #expect(throws: TraceError(line: 2, "timestamp '2017-13-09 07:01:55' is not YYYY-MM-DD HH:MM:SS")) {
            try PhillyTrace.read("timestamp,duration,num_gpus,gpu_time,cluster\n2017-13-09 07:01:55,66.0,1,66.0,a\n")
        }
        #expect(throws: TraceError.self) { try PhillyTrace.read("when,how_long\n1,2\n") }
        #expect(throws: TraceError(line: 2, "duration is required")) { try AllotTrace.read("submit,duration\n1,\n") }
        #expect(
            throws: TraceError(
                line: 1,
                "unknown key gpu (known: id, submit, duration, gpus, cpu, memory, tenant, priority, estimate, gpu_model, gpu_memory)"
            )
        ) {
            try AllotTrace.read("{\"submit\":1,\"duration\":2,\"gpu\":1}")
        }
        #expect(throws: TraceError(line: 2, "unknown application 'gpt' (known: bert, cifar10, deepspeech2, imagenet, ncf, yolov3)")) {
            try PolluxWorkload.read("name,time,application,num_replicas,batch_size\nx,1,gpt,1,32\n")
        }
        #expect(TraceFormat.detect("a,b,c\n") == nil)
    }

    @Test func civilDates() {
        #expect(PhillyTrace.daysFromCivil(year: 1970, month: 1, day: 1) == 0)
        #expect(PhillyTrace.daysFromCivil(year: 2000, month: 3, day: 1) == 11_017)
        #expect(PhillyTrace.daysFromCivil(year: 2017, month: 10, day: 3) == 17_442)
    }
}
