import AllotAPI
import AllotStore
import AllotStoreSQLite
import Foundation
import Testing

/// The databases hold jobs' environments and token digests: only their owner may read them.
struct FilePermissionTests {
    func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o777
    }

    @Test func databaseFilesAreTheOwnersOnly() async throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path)
        try await store.commit(WriteBatch(insertJobs: [job("job-1", sequence: 1)]))
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            #expect(try mode(file) == 0o600, "\(file)")
        }
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        let history = temporaryDatabase()
        _ = try SQLiteHistoryStore(path: history)
        #expect(try mode(history) == 0o600)
    }

    @Test func aDatabaseLeftReadableByOthersIsTightenedWhenOpened() throws {
        let path = temporaryDatabase()
        _ = try SQLiteStore(path: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        _ = try SQLiteStore(path: path)
        #expect(try mode(path) == 0o600)
    }
}
