import Foundation

extension StorageURL {
    /// The store a URL names, with credentials and endpoints from `environment` (AWS's variables for `s3://`;
    /// `STORAGE_EMULATOR_HOST`, `GOOGLE_OAUTH_ACCESS_TOKEN` or `GOOGLE_APPLICATION_CREDENTIALS` for `gs://`).
    /// Unfinished GCS uploads are remembered under `$HOME/.cache/allot/sync`, to be resumed.
    public static func open(
        _ text: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(StorageError)
        -> any ObjectStore
    {
        switch try parse(text) {
        case .s3(let bucket, let prefix): return try S3Store.fromEnvironment(bucket: bucket, prefix: prefix, environment)
        case .gcs(let bucket, let prefix):
            // $HOME first: Foundation's home directory comes from the password database and ignores it.
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.homeDirectoryForCurrentUser.path
            return try GCSStore.fromEnvironment(bucket: bucket, prefix: prefix, stateDirectory: home + "/.cache/allot/sync", environment)
        case .local(let path): return LocalStore(root: path)
        }
    }
}
