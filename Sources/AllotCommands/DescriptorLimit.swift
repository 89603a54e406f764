#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open file descriptors.
enum DescriptorLimit {
    /// Raises the soft limit to the hard limit (as far as the system lets) and returns the soft limit now.
    static func raise() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 1_024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// Connections the server takes at once under a descriptor limit: the limit less a reserve for the
    /// database, the history, logs and outgoing connections (a tenth, at least 128); at least 16.
    static func connections(under limit: Int) -> Int {
        guard limit < 1 << 30 else { return 1 << 20 }
        return max(16, limit - max(128, limit / 10))
    }
}
