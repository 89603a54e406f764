import AllotAWS
import AllotStorage
import Foundation
import Testing

extension HeavyTests {
    /// `allot data sync` between a local directory, moto's S3 and fake-gcs-server, as real processes.
    @Suite(.serialized) struct DataSyncTests {
        struct Summary: Decodable {
            var copied: Int
            var skipped: Int
            var deleted: Int
            var bytes: Int64
            var resumedBytes: Int64
            var failed: [String: String]
            var actions: [SyncAction]
        }

        struct Endpoints {
            var moto: MotoServer
            var gcs: FakeGCSServer
            var environment: [String: String] { moto.environment.merging(["STORAGE_EMULATOR_HOST": gcs.url]) { _, new in new } }
            func stop() {
                moto.stop()
                gcs.stop()
            }
        }

        func start(_ directory: String) async throws -> Endpoints {
            let endpoints = Endpoints(moto: try await MotoServer(directory: directory), gcs: try await FakeGCSServer(directory: directory))
            try await S3Store(
                bucket: "lake",
                prefix: "",
                region: "us-east-1",
                credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"),
                endpoint: URL(string: endpoints.moto.url)
            ).createBucket()
            try await GCSStore(bucket: "mirror", prefix: "", endpoint: endpoints.gcs.url, token: nil).createBucket()
            return endpoints
        }

        func sync(_ endpoints: Endpoints, _ arguments: [String], home: String) async throws -> Summary {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try allotExecutable())
            process.arguments = ["data", "sync"] + arguments + ["--output", "json", "--no-progress"]
            process.environment = ProcessInfo.processInfo.environment.merging(endpoints.environment.merging(["HOME": home]) { _, new in new }) {
                _,
                new in
                new
            }
            let (output, status) = try await runToEnd(process)
            let text = String(decoding: output, as: UTF8.self)
            let summary = try JSONDecoder().decode(Summary.self, from: Data(text.utf8))
            #expect(status == 0 || !summary.failed.isEmpty, "\(text)")
            return summary
        }

        /// Deterministic bytes (xorshift), so a failing run can be reproduced.
        static func bytes(_ count: Int, seed: UInt64) -> Data {
            var state = seed | 1
            var data = Data(count: count)
            data.withUnsafeMutableBytes { buffer in
                let words = buffer.bindMemory(to: UInt8.self)
                var index = 0
                while index < count {
                    state ^= state << 13
                    state ^= state >> 7
                    state ^= state << 17
                    var word = state
                    for _ in 0..<8 where index < count {
                        words[index] = UInt8(truncatingIfNeeded: word)
                        word >>= 8
                        index += 1
                    }
                }
            }
            return data
        }

        /// A large file written 16 MiB at a time.
        static func writeLarge(_ path: String, mebibytes: Int, seed: UInt64) throws {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw LiveError("cannot create \(path)") }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }  // written through; a failed close is caught by the checksums compared later
            for chunk in 0..<(mebibytes / 16) { try handle.write(contentsOf: bytes(16 << 20, seed: seed &+ UInt64(chunk))) }
        }

        /// Relative path → MD5 of every file under `root`.
        static func digests(_ root: String) async throws -> [String: String] {
            let store = LocalStore(root: root)
            var found: [String: String] = [:]
            for object in try await store.list() { found[object.key] = try await store.md5(of: object) }
            return found
        }

        static func freshDirectory() throws -> String {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-sync-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return directory
        }

        @Test func fiveHundredObjectsAndALargeOneRoundTripIncrementallyWithDeletes() async throws {
            let directory = try Self.freshDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }  // scratch
            let endpoints = try await start(directory)
            defer { endpoints.stop() }
            let source = directory + "/source"
            for index in 0..<500 {
                let folder = source + ["/plain", "/with space", "/ünïcödé 数据", "/a/b/c"][index % 4]
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let size = index % 50 == 0 ? 0 : (index * 7_919) % 65_536
                let name = index % 3 == 0 ? "obj \(index).bin" : "obj-\(index)-é.bin"
                try Self.bytes(size, seed: UInt64(index)).write(to: URL(fileURLWithPath: folder + "/" + name))
            }
            try Self.writeLarge(source + "/large.bin", mebibytes: 256, seed: 99)
            // local → S3 → GCS → local.
            let up = try await sync(endpoints, [source, "s3://lake/set", "--jobs", "16"], home: directory)
            #expect(up.copied == 501 && up.failed.isEmpty && up.bytes > 256 << 20, "\(up.failed)")
            let across = try await sync(endpoints, ["s3://lake/set", "gs://mirror/copy"], home: directory)
            #expect(across.copied == 501 && across.failed.isEmpty, "\(across.failed)")
            let down = try await sync(endpoints, ["gs://mirror/copy", directory + "/back"], home: directory)
            #expect(down.copied == 501 && down.failed.isEmpty, "\(down.failed)")
            let original = try await Self.digests(source)
            #expect(original.count == 501)
            #expect(try await Self.digests(directory + "/back") == original)
            // A second run copies nothing.
            let again = try await sync(endpoints, ["s3://lake/set", "gs://mirror/copy"], home: directory)
            #expect(again.copied == 0 && again.skipped == 501)
            // One changed object (same size, other bytes) is copied alone.
            try Self.bytes(1_000, seed: 7).write(to: URL(fileURLWithPath: source + "/plain/obj 12.bin"))
            try Self.bytes(4 * 7_919, seed: 12_345).write(to: URL(fileURLWithPath: source + "/plain/obj-4-é.bin"))
            let changed = try await sync(endpoints, [source, "s3://lake/set"], home: directory)
            #expect(changed.copied == 2 && changed.skipped == 499)
            // --delete mirrors a deletion; --dry-run only says so.
            try FileManager.default.removeItem(atPath: source + "/a/b/c/obj 3.bin")
            let dry = try await sync(endpoints, [source, "s3://lake/set", "--delete", "--dry-run"], home: directory)
            #expect(dry.actions.map(\.kind) == [.delete] && dry.actions.first?.key == "a/b/c/obj 3.bin" && dry.deleted == 0)
            let mirrored = try await sync(endpoints, [source, "s3://lake/set", "--delete"], home: directory)
            #expect(mirrored.deleted == 1 && mirrored.copied == 0)
            let onward = try await sync(endpoints, ["s3://lake/set", "gs://mirror/copy", "--delete"], home: directory)
            #expect(onward.deleted == 1 && onward.copied == 2)
            let final = try await sync(endpoints, ["gs://mirror/copy", directory + "/back", "--delete"], home: directory)
            #expect(final.deleted == 1 && final.copied == 2)
            #expect(try await Self.digests(directory + "/back") == Self.digests(source))
        }

        @Test(arguments: ["s3://lake/resume", "gs://mirror/resume"])
        func aSyncKilledMidTransferResumesAndLeavesNoPartialObject(_ destination: String) async throws {
            let directory = try Self.freshDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }  // scratch
            let endpoints = try await start(directory)
            defer { endpoints.stop() }
            try FileManager.default.createDirectory(atPath: directory + "/source", withIntermediateDirectories: true)
            try Self.writeLarge(directory + "/source/model.bin", mebibytes: 192, seed: 5)
            let first = try LiveProcess(
                ["data", "sync", directory + "/source", destination, "--jobs", "1"],
                directory: directory,
                environment: endpoints.environment.merging(["HOME": directory]) { _, new in new }
            )
            // Kill it once at least two parts are stored, well before the last.
            let deadline = Date().addingTimeInterval(60)
            while Self.bytesShown(first.output) < 40 << 20 {
                guard Date() < deadline, first.process.isRunning else { throw LiveError("no progress to kill at:\n\(first.output)") }
                try await Task.sleep(for: .milliseconds(20))
            }
            first.kill9()
            #expect(Self.bytesShown(first.output) < 192 << 20)
            // Nothing under the final name.
            let listed = try await sync(endpoints, [destination, directory + "/peek", "--dry-run"], home: directory)
            #expect(listed.actions.isEmpty, "\(listed.actions)")
            let resumed = try await sync(endpoints, [directory + "/source", destination], home: directory)
            #expect(resumed.copied == 1 && resumed.failed.isEmpty, "\(resumed.failed)")
            #expect(resumed.resumedBytes >= 32 << 20)
            let back = try await sync(endpoints, [destination, directory + "/back"], home: directory)
            #expect(back.copied == 1)
            #expect(try await Self.digests(directory + "/back") == Self.digests(directory + "/source"))
        }

        /// The bytes done in the last progress line (`[###…] 48MiB/192MiB …`).
        static func bytesShown(_ output: String) -> Int64 {
            guard let line = output.split(separator: "\r").last(where: { $0.hasPrefix("[") }),
                let field = line.split(separator: " ").dropFirst().first?.split(separator: "/").first
            else { return 0 }
            let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1_024), ("B", 1)]
            for (unit, scale) in units where field.hasSuffix(unit) {
                return Int64((Double(field.dropLast(unit.count)) ?? 0) * scale)
            }
            return 0
        }
    }
}
