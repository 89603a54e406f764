import AllotAPI
import Foundation
import Synchronization

/// A change the control plane announces on `/v1/events`.
public struct ControlPlaneEvent: Sendable, Equatable {
    /// `job` or `node`.
    public var type: String
    /// The record as JSON.
    public var data: String
    /// The tenant a job event belongs to; `nil` for node events, which only admins receive.
    public var tenant: String?
}

/// Fans events out to every subscriber, each seeing only its tenants' jobs (admins see everything, nodes
/// included); a subscriber that falls behind loses its oldest events, never blocks the control plane.
final class EventHub: Sendable {
    private struct Subscriber {
        var scope: Set<String>?
        var continuation: AsyncStream<ControlPlaneEvent>.Continuation
    }

    private let state = Mutex<[UUID: Subscriber]>([:])

    /// - Parameter scope: the tenants whose job events to receive; `nil` for all events.
    func subscribe(scope: Set<String>? = nil) -> AsyncStream<ControlPlaneEvent> {
        let (stream, continuation) = AsyncStream<ControlPlaneEvent>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        let id = UUID()
        state.withLock { $0[id] = Subscriber(scope: scope, continuation: continuation) }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.removeValue(forKey: id) } }
        return stream
    }

    /// Streams open now.
    var subscriberCount: Int { state.withLock { $0.count } }

    func publish<Record: Encodable>(_ type: String, _ record: Record, tenant: String? = nil) {
        let subscribers = state.withLock { state in
            state.values.filter { subscriber in
                guard let scope = subscriber.scope else { return true }
                return tenant.map { scope.contains($0) } ?? false
            }.map(\.continuation)
        }
        guard !subscribers.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(record) else { return }
        let event = ControlPlaneEvent(type: type, data: String(decoding: data, as: UTF8.self), tenant: tenant)
        for continuation in subscribers { continuation.yield(event) }
    }

    func finish() {
        for subscriber in state.withLock({ Array($0.values) }) { subscriber.continuation.finish() }
    }
}
