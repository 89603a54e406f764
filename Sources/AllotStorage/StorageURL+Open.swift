import Foundation

extension StorageURL {
    /// The store a URL names, with credentials and endpoints from `environment` (AWS's variables for `s3://`;
    /// `STORAGE_EMULATOR_HOST`, `GOOGLE_OAUTH_ACCESS_TOKEN` or `GOOGLE_APPLICATION_CREDENTIALS` for `gs://`).
    public static func open(
        _ text: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(StorageError)
        -> any ObjectStore
    {
        switch try parse(text) {
        case .s3(let bucket, let prefix): return try S3Store.fromEnvironment(bucket: bucket, prefix: prefix, environment)
        case .gcs(let bucket, let prefix): return try GCSStore.fromEnvironment(bucket: bucket, prefix: prefix, environment)
        case .local(let path): return LocalStore(root: path)
        }
    }
}
