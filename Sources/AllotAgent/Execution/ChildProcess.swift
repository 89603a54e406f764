import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A job's process: started in its own process group (so a stop reaches everything it started), with its
/// output read line by line on threads of its own, and its exit awaited without blocking Swift's executors.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let exit = Mutex<Int32?>(nil)
    private let signalled = Mutex(false)
    /// The write end of the pipe a held process waits on, until ``release()``.
    private let gate = Mutex<Int32?>(nil)
    private let exited = Mutex<[CheckedContinuation<Int32, Never>]>([])
    /// Output streams still open, and who waits for both to close.
    private let readers = Mutex<(open: Int, waiters: [CheckedContinuation<Void, Never>])>((2, []))

    /// Starts `command` (looked up on `PATH`) with `environment`. Output goes to `output(stream, text)`.
    ///
    /// With `held`, the process waits (in a `/bin/sh` that then `exec`s the command, keeping its pid) until
    /// ``release()``, so that it can be put in a cgroup before it runs or forks anything.
    ///
    /// With `supervisor` (held processes only), a watchdog in the job's process group stops the group once
    /// that process (the agent) is gone: SIGTERM, then SIGKILL after `graceSeconds`. A job never runs on
    /// unsupervised after its agent dies, and it is stopped before the server, missing the agent's
    /// heartbeats, starts it again elsewhere. The watchdog ignores SIGTERM (a cancel), holds none of the
    /// job's output, and ends within a second of the job.
    public init(
        command: [String],
        environment: [String: String],
        held: Bool = false,
        supervisor: (pid: pid_t, graceSeconds: Double)? = nil,
        output: @escaping @Sendable (_ isError: Bool, _ text: String) -> Void
    ) throws(ChildProcessError) {
        guard let program = command.first, !program.isEmpty else { throw ChildProcessError(message: "empty command") }
        guard let resolved = Self.resolve(program, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            throw ChildProcessError(message: "cannot start \(program): not found or not executable")
        }
        var stdoutPipe: [Int32] = [0, 0]
        var stderrPipe: [Int32] = [0, 0]
        var stdinPipe: [Int32] = [0, 0]
        guard pipe(&stdoutPipe) == 0, pipe(&stderrPipe) == 0, !held || pipe(&stdinPipe) == 0 else {
            throw ChildProcessError(message: "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if held {
            posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        // Nothing else of the agent's (sockets, its own output, the database) leaks into the job.
        Self.closeInheritedDescriptors(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new process group whose id is the child's pid; default signal handling in the child.
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var script = "read -r _; "
        if let supervisor {
            let grace = String(format: "%.1f", max(0, supervisor.graceSeconds))
            // `up P`: P exists and is not a zombie (an agent killed but not yet reaped by its parent is gone).
            script +=
                "up() { read -r _ _ s _ </proc/$1/stat 2>/dev/null && [ \"$s\" != Z ]; }; "
                + "( trap '' TERM; while up \(supervisor.pid) && up $$; do sleep 1; done; "
                + "if up $$; then kill -TERM -$$ 2>/dev/null; sleep \(grace); kill -KILL -$$ 2>/dev/null; fi ) "
                + "</dev/null >/dev/null 2>&1 & "
        }
        script += "exec \"$0\" \"$@\" </dev/null"
        let argv = held ? ["/bin/sh", "-c", script, resolved] + command.dropFirst() : [resolved] + command.dropFirst()
        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, argv[0], &actions, &attributes, arguments, variables)
        close(stdoutPipe[1])
        close(stderrPipe[1])
        if held { close(stdinPipe[0]) }
        guard status == 0 else {
            close(stdoutPipe[0])
            close(stderrPipe[0])
            if held { close(stdinPipe[1]) }
            throw ChildProcessError(message: "cannot start \(program): \(String(cString: strerror(status)))")
        }
        pid = child
        if held { gate.withLock { $0 = stdinPipe[1] } }
        Self.read(stdoutPipe[0], deliver: { output(false, $0) }, closed: { [self] in readerClosed() })
        Self.read(stderrPipe[0], deliver: { output(true, $0) }, closed: { [self] in readerClosed() })
        let pid = child
        Thread.detachNewThread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            let code = Self.exitCode(status)
            self.exit.withLock { $0 = code }
            for continuation in self.exited.withLock({ list in
                defer { list = [] }
                return list
            }) { continuation.resume(returning: code) }
        }
    }

    /// Lets a held process run its command.
    public func release() {
        guard
            let descriptor = gate.withLock({ value in
                defer { value = nil }
                return value
            })
        else { return }
        _ = "\n".withCString { Glibc.write(descriptor, $0, 1) }
        close(descriptor)
    }

    /// Finds a program on `PATH` (or checks a path given with `/`).
    static func resolve(_ program: String, path: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            var directory: ObjCBool = false
            if access(candidate, X_OK) == 0, FileManager.default.fileExists(atPath: candidate, isDirectory: &directory), !directory.boolValue {
                return candidate
            }
        }
        return nil
    }

    /// The exit code, once the process has ended (128 + signal number when a signal ended it).
    public var exitCode: Int32? { exit.withLock { $0 } }

    /// Waits for the process to end and returns its exit code.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let code: Int32? = exit.withLock { code in
                if code == nil { exited.withLock { $0.append(continuation) } }
                return code
            }
            if let code { continuation.resume(returning: code) }
        }
    }

    /// Waits until both output streams have reached their end (every byte delivered), or `seconds` have
    /// passed: a child left running in the background may hold them open.
    public func outputFinished(within seconds: Double) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let done = self.readers.withLock { state in
                        if state.open > 0 { state.waiters.append(continuation) }
                        return state.open == 0
                    }
                    if done { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: .seconds(seconds)) }
            await group.next()
            group.cancelAll()
        }
    }

    private func readerClosed() {
        let waiters = readers.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open -= 1
            guard state.open == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Sends a signal to the whole process group; one that reaches the process alive marks it ``interrupted``.
    public func signal(_ signal: Int32) {
        if !hasExited { signalled.withLock { $0 = true } }
        _ = kill(-pid, signal)
    }

    /// Whether a signal was sent while the process was still alive: its exit may be the stop's doing. An exit
    /// reached before any signal (a stop that came too late) is the process's own.
    public var interrupted: Bool { signalled.withLock { $0 } }

    /// The process has ended: its exit is recorded, or it is a zombie not yet reaped (the reaping thread may
    /// lag on a loaded machine), or it is gone.
    var hasExited: Bool {
        if exitCode != nil { return true }
        #if os(Linux)
        // Unreadable: reaped meanwhile. The state follows the name in parentheses, which may hold ')' itself.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].drop { $0 == " " }.first == "Z"
        #else
        return false
        #endif
    }

    /// SIGTERM to the group, then SIGKILL after `grace` seconds if it has not ended.
    public func stop(grace: Double) async -> Int32 {
        signal(SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while exitCode == nil && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if exitCode == nil { signal(SIGKILL) }
        // Leftover members of the group (children that ignored SIGTERM) go too.
        let code = await wait()
        _ = kill(-pid, SIGKILL)
        return code
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// Closes every descriptor from 3 up in the child: with glibc's `posix_spawn_file_actions_addclosefrom_np`
    /// where it exists (2.34+), else one close action per descriptor open now (glibc ignores closing one that
    /// is not open).
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
            if closeFrom(&actions, 3) == 0 { return }
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? Array(3..<1024)
        for descriptor in open where descriptor >= 3 { posix_spawn_file_actions_addclose(&actions, descriptor) }
    }

    private static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func read(_ descriptor: Int32, deliver: @escaping @Sendable (String) -> Void, closed: @escaping @Sendable () -> Void) {
        Thread.detachNewThread {
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                deliver(String(decoding: data, as: UTF8.self))
            }
            closed()
        }
    }
}

public struct ChildProcessError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
