import AllotCLI
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// The `allot` command. The one-off client commands (``QuickCommands``) run in this small binary, which starts
/// in a few milliseconds; every other command (`server`, `agent`, `dev`, `simulate`, `bench`, `--help`, …) is
/// handed, arguments unchanged, to `allot-full` beside it (the same process: `exec`).
@main
struct Entry {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count > 1, QuickCommands.runs(arguments[1]) else { handOver(arguments) }
        // A synchronous main that parks its thread until the command calls exit: an async main would have
        // the main thread leave through pthread_exit, whose unwinding sorts every frame entry of a static
        // executable first (about 30 ms).
        // Detached: not on the main actor, whose queue this parked thread never drains.
        Task.detached {
            await QuickCommands.runFast(Array(arguments.dropFirst()))
            await QuickCommands.main()
            exit(0)
        }
        while true { pause() }
    }

    /// Replaces this process with `allot-full` from this executable's directory; says why and exits 127 when
    /// it cannot.
    static func handOver(_ arguments: [String]) -> Never {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let own = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : arguments[0]
        let full = own.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/") + "/allot-full"
        let argv = ([full] + arguments.dropFirst()).map { strdup($0) } + [nil]
        execv(full, argv)
        let reason = String(cString: strerror(errno))
        let message = "allot: cannot run \(full): \(reason) (it is built beside allot: swift build -c release)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(127)
    }
}
