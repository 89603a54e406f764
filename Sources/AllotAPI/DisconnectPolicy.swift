import AllotCore

/// What a partition means for a job (`--on-disconnect`): when its node stops reporting for longer than the node
/// timeout, `requeue` (the default) ends the attempt and queues the job again; `wait` leaves the attempt alone
/// on its node, holding its resources, for that long first, so a node that comes back in time carries on with
/// the job untouched (as Nomad's `max_client_disconnect` or Kubernetes' tolerations do).
public enum DisconnectPolicy: Sendable, Equatable, Codable, CustomStringConvertible {
    case requeue
    case wait(seconds: Double)

    /// The longest wait accepted: a week.
    public static let longestWait: Double = 7 * 86_400

    /// `requeue`, or `wait=DURATION` (`wait=90s`, `wait=10m`, `wait=2h`; seconds without a unit).
    public init(parsing text: String) throws(InputError) {
        if text == "requeue" {
            self = .requeue
            return
        }
        guard text.hasPrefix("wait=") else {
            throw InputError(path: "onDisconnect", "invalid value \"\(text)\": expected requeue or wait=DURATION, such as wait=10m")
        }
        let seconds: Double
        do { seconds = try DurationText.parse(String(text.dropFirst("wait=".count)), field: "onDisconnect") } catch {
            throw InputError(path: "onDisconnect", "invalid value \"\(text)\": \(error.reason)")
        }
        guard seconds > 0, seconds <= Self.longestWait else {
            throw InputError(path: "onDisconnect", "invalid value \"\(text)\": the wait must be more than 0 and at most 7d")
        }
        self = .wait(seconds: seconds)
    }

    public var description: String {
        switch self {
        case .requeue: "requeue"
        case .wait(let seconds): "wait=\(DurationText.format(seconds))"
        }
    }

    /// How long an attempt is left alone on a silent node (`nil`: requeued at once).
    public var waitSeconds: Double? {
        if case .wait(let seconds) = self { return seconds }
        return nil
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try DisconnectPolicy(parsing: text) } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
