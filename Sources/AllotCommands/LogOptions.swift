import AllotCLI
import ArgumentParser
import Foundation
import Logging
import Synchronization

/// `--log-level` and `--log-format` of the long-running commands (`server`, `dev`, `agent`).
public struct LogOptions: ParsableArguments {
    public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, json
    }

    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical (ALLOT_LOG_LEVEL when absent; info by default)."
    )
    public var level: String?

    @Option(name: .customLong("log-format"), help: "text (one readable line each) or json (one object a line), on stderr.")
    public var format: Format = .text

    public init() {}

    public func validate() throws {
        if let level, Logger.Level(rawValue: level) == nil {
            throw ValidationError(
                "--log-level: invalid value \"\(level)\": use \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
    }

    var resolvedLevel: Logger.Level {
        level.flatMap(Logger.Level.init(rawValue:)) ?? ProcessInfo.processInfo.environment["ALLOT_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            ?? .info
    }

    /// Sets up logging for this process, once (later calls keep the first set-up).
    public func bootstrap() {
        let format = self.format
        let level = resolvedLevel
        LogOptions.bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var handler: any LogHandler =
                    format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// A logger at the chosen level.
    public func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = resolvedLevel
        return logger
    }

    private static let bootstrapped = Mutex(false)
}
