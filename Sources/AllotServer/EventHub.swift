import AllotAPI
import Foundation
import Synchronization

/// A change the control plane announces on `/v1/events`.
public struct ControlPlaneEvent: Sendable, Equatable {
    /// `job` or `node`.
    public var type: String
    /// The record as JSON.
    public var data: String
}

/// Fans events out to every subscriber; a subscriber that falls behind loses its oldest events, never blocks the control plane.
final class EventHub: Sendable {
    private let state = Mutex<[UUID: AsyncStream<ControlPlaneEvent>.Continuation]>([:])

    func subscribe() -> AsyncStream<ControlPlaneEvent> {
        let (stream, continuation) = AsyncStream<ControlPlaneEvent>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        let id = UUID()
        state.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.removeValue(forKey: id) } }
        return stream
    }

    func publish<Record: Encodable>(_ type: String, _ record: Record) {
        let subscribers = state.withLock { Array($0.values) }
        guard !subscribers.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(record) else { return }
        let event = ControlPlaneEvent(type: type, data: String(decoding: data, as: UTF8.self))
        for continuation in subscribers { continuation.yield(event) }
    }

    func finish() {
        for continuation in state.withLock({ Array($0.values) }) { continuation.finish() }
    }
}
