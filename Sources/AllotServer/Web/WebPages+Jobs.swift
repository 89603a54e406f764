import AllotAPI
import AllotCore
import AllotStore
import Foundation
import HTTPTypes

/// The jobs list, the submit form and a job's page.
extension APIRoutes {

    func jobsPage(_ session: WebRequest, _ parameters: [String: String]) async throws -> WebPage {
        let identity = session.identity
        let state = parameters["state"].flatMap { $0.isEmpty ? nil : JobState(rawValue: $0) }
        let tenant = parameters["tenant"].flatMap { $0.isEmpty ? nil : $0 }
        if let tenant { try AccessControl.requireVisible(identity, tenant: identity.sees(tenant) ? tenant : nil, resource: "tenant \(tenant)") }
        let pageSize = 100
        let before = parameters["before"].flatMap { Int64($0) }
        // Newest first, a page at a time (one more than shown, to know whether there is a next page).
        var shown: [JobView] = []
        var cursor = before
        var more = false
        while shown.count <= pageSize {
            let batch = try await plane.jobs(
                JobQuery(states: state.map { [$0] }, tenant: tenant, beforeSequence: cursor, newestFirst: true, limit: 4 * pageSize)
            )
            shown += batch.filter { identity.sees($0.job.tenant) }
            guard batch.count == 4 * pageSize, let last = batch.last else { break }
            cursor = last.job.sequence
        }
        if shown.count > pageSize {
            more = true
            shown = Array(shown.prefix(pageSize))
        }
        let counts = try await plane.jobCounts(
            for: tenant.map { Identity(actor: identity.actor, role: identity.role, tenant: $0, scope: [$0]) } ?? identity
        )
        let total = state.map { counts[$0] ?? 0 } ?? counts.values.reduce(0, +)
        let tenants = await directory.tenants(visibleTo: identity).map(\.name).filter { identity.scope?.contains($0) ?? true }
        var page = WebPage(title: "Jobs", name: "jobs")
        func link(_ sequence: Int64) -> String {
            var query = ["before=\(sequence)"]
            if let state { query.append("state=\(state.rawValue)") }
            if let tenant { query.append("tenant=\(tenant)") }
            return "/ui/jobs?" + query.joined(separator: "&")
        }
        page.context = [
            "summary":
                "\(total) job\(total == 1 ? "" : "s")\(state.map { " \($0.rawValue)" } ?? "")\(tenant.map { " in \($0)" } ?? ""); newest first.",
            "states": JobState.allCases.map { ["name": $0.rawValue, "selected": $0 == state] },
            "filterTenants": tenants.map { ["name": $0, "selected": $0 == tenant] },
            "tenants": tenants.map { ["name": $0, "selected": $0 == identity.tenant] },
            "openForm": total == 0,
            "jobs": shown.map { view -> [String: Any] in
                let job = view.job
                return [
                    "id": job.id, "name": job.name ?? "", "tenant": job.tenant, "state": job.state.rawValue, "requests": Self.requests(job.task),
                    "nodes": Set((job.placements ?? []).map(\.node.rawValue)).sorted().joined(separator: ", "),
                    "submitted": Self.time(job.submittedAt),
                    "reason": job.reason ?? (job.exitCode.map { "exit \($0)" } ?? ""),
                ]
            },
            "next": more ? link(shown.last!.job.sequence) : false,
            "previous": before != nil ? "/ui/jobs" + (state.map { "?state=\($0.rawValue)" } ?? "") : false,
        ]
        return page
    }

    /// A job from the submit form, checked exactly as `POST /v1/jobs` checks one.
    func submit(_ session: WebRequest) async throws -> Job {
        let fields = session.fields
        let command = (fields["command"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !command.isEmpty else { throw APIError(.unprocessableContent, .invalidField, "command: required") }
        var requests: [String: JSONValue] = [:]
        if let cpu = fields["cpu"], !cpu.isEmpty { requests["cpu"] = .string(cpu) }
        if let memory = fields["memory"], !memory.isEmpty { requests["memory"] = .string(memory) }
        if let gpus = fields["gpus"], !gpus.isEmpty {
            guard let count = Int(gpus) else { throw APIError(.unprocessableContent, .invalidField, "gpus: a whole number") }
            requests["gpus"] = .number(Double(count))
        }
        var document: [String: JSONValue] = [
            "command": .array([.string("sh"), .string("-c"), .string(command)]), "requests": .object(requests),
            "tenant": .string(fields["tenant"].flatMap { $0.isEmpty ? nil : $0 } ?? session.identity.tenant),
            "preemptible": .bool(fields["preemptible"] == "true"),
        ]
        if let name = fields["name"], !name.isEmpty { document["name"] = .string(name) }
        if let priority = fields["priority"], !priority.isEmpty {
            guard let value = Int(priority) else { throw APIError(.unprocessableContent, .invalidField, "priority: a whole number") }
            document["priority"] = .number(Double(value))
        }
        let submission: JobSubmission
        do { submission = try JobSubmission.decode(.object(document)) } catch {
            throw APIError.invalid(error)
        }
        let tenant = submission.task.tenant.rawValue
        try AccessControl.requireVisible(session.identity, tenant: await directory.tenant(tenant)?.name, resource: "tenant \(tenant)")
        return try await plane.submit(submission)
    }

    func jobPage(_ session: WebRequest, _ id: JobID) async throws -> WebPage {
        try AccessControl.requireVisible(session.identity, tenant: try await plane.tenant(ofJob: id), resource: "job \(id)")
        let view = try await plane.job(id)
        let job = view.job
        let logs = try await plane.logs(id, after: 0)
        var events: [(time: Double, event: String)] = [(job.submittedAt, "submitted")]
        for attempt in await plane.attempts(of: id) {
            events.append((attempt.chargedFrom, "attempt \(attempt.number) allocated on \(attempt.nodes.joined(separator: ", "))"))
            if attempt.startedAt > attempt.chargedFrom { events.append((attempt.startedAt, "attempt \(attempt.number) running")) }
            if let ended = attempt.endedAt { events.append((ended, "attempt \(attempt.number) \(attempt.outcome?.rawValue ?? "ended")")) }
        }
        if job.state == .running, let started = job.startedAt { events.append((started, "running")) }
        // In time order; what happened in the same instant keeps the order it was added in.
        let timeline = events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            .map { ["time": Self.time($0.element.time), "event": $0.element.event] }
        var page = WebPage(title: "Job \(id)", name: "job")
        page.context = [
            "id": job.id, "name": job.name ?? "–", "tenant": job.tenant, "state": job.state.rawValue, "command": job.command.joined(separator: " "),
            "requests": Self.requests(job.task), "priority": job.task.priority, "preemptible": job.task.preemptible, "attempt": job.attempt,
            "maxAttempts": job.maxAttempts, "exitCode": job.exitCode.map { "\($0)" } ?? false, "reason": job.reason ?? false,
            "queuePosition": view.queuePosition ?? false, "estimatedStart": view.estimatedStartAt.map { Self.time($0) } ?? false,
            "canCancel": !job.state.isTerminal && (session.identity.role ?? .viewer) >= .member,
            "inputs": (job.inputs ?? []).enumerated().map { index, input -> [String: Any] in
                ["variable": "ALLOT_INPUT_\(index)", "url": input.url, "size": input.bytes.map { Quantity.formatBytes($0) } ?? "–"]
            },
            "staging": job.staging.map { progress -> [String: Any] in
                let share = progress.bytes > 0 ? Double(progress.bytesDone) / Double(progress.bytes) : 0
                return [
                    "done": Quantity.formatBytes(progress.bytesDone), "of": Quantity.formatBytes(progress.bytes),
                    "percent": String(format: "%.0f", share * 100), "width": Self.width(share),
                ]
            } ?? false,
            "placements": (job.placements ?? []).map { placement -> [String: Any] in
                [
                    "node": placement.node.rawValue, "gpus": placement.gpuIndices.map(String.init).joined(separator: ",").ifEmpty("–"),
                    "cpu": Quantity.formatCPU(placement.cpuMillis), "memory": Quantity.formatBytes(placement.memoryBytes),
                ]
            },
            "timeline": timeline, "logs": logs.map(\.text).joined(), "logOffset": logs.last?.offset ?? 0, "live": !job.state.isTerminal,
        ]
        return page
    }
}
