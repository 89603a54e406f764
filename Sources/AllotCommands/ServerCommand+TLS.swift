import AllotCLI
import AllotTLS
import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import UnixSignals

extension ServerCommand {
    var scheme: String { tls ? "https" : "http" }

    /// HTTPS unless `--no-tls`: the certificate from `--tls-cert`/`--tls-key`, or one the data directory's
    /// authority issues for this server's names (made or reissued as needed); `nil` for plain HTTP.
    func serverTLS() throws -> ServerCertificate? {
        guard tls else { return nil }
        let source: ServerCertificate.Source =
            if let tlsCertificate, let tlsKey {
                .files(certificate: tlsCertificate, key: tlsKey)
            } else {
                .generated(directory: options.dataDirectory + "/tls", names: certificateNames)
            }
        do {
            return try ServerCertificate(source)
        } catch {
            throw CommandFailure("\(tlsCertificate == nil ? "TLS" : "--tls-cert"): \(error) (--no-tls serves plain HTTP)")
        }
    }

    /// The names a generated certificate holds: loopback, this machine's name, the listening and advertised
    /// hosts, and `--tls-san`.
    var certificateNames: [String] {
        var names = ["localhost", "127.0.0.1", "::1", ProcessInfo.processInfo.hostName] + tlsNames
        if !["0.0.0.0", "::", ""].contains(options.host) { names.append(options.host) }
        if let advertise, let host = URL(string: advertise)?.host { names.append(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) }
        return names
    }

    /// The host agents are told to dial when no `--advertise` says: this machine's name when the server listens
    /// everywhere.
    var joinHost: String { ["0.0.0.0", "::", ""].contains(options.host) ? ProcessInfo.processInfo.hostName : options.host }

    /// The lines printed once the server listens at `url`: what it serves, and how an agent joins.
    static func announceTLS(_ certificate: ServerCertificate?, url: String, joinToken: String?) {
        guard let certificate else {
            announce("WARNING: serving plain HTTP (--no-tls): tokens, join tokens and job data cross the network in clear text")
            return
        }
        announce("TLS: \(certificate.summary)")
        guard let joinToken else { return }
        let pin = certificate.authorityFingerprint.map { "--ca-fingerprint \($0)" } ?? "--ca CA-FILE"
        announce("join: allot agent --server \(url) --token \(joinToken) \(pin)")
    }
}

/// Reloads the server's certificate on SIGHUP (and, for a generated one, twice a day, so it is reissued before it
/// ends): new connections get the new certificate, open ones keep theirs. A file that cannot be read leaves the
/// certificate served so far in place, and the log says why.
struct CertificateReloader: Service {
    let certificate: ServerCertificate
    let logger: Logger
    static let renewalCheck: Duration = .seconds(12 * 3600)

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() { reload(because: "SIGHUP") }
            }
            if case .generated = certificate.source {
                group.addTask {
                    while (try? await Task.sleep(for: Self.renewalCheck)) != nil, !Task.isShuttingDownGracefully {  // cancelled: done
                        reload(because: "renewal check")
                    }
                }
            }
            try? await gracefulShutdown()  // returns at shutdown, throws at cancellation: either way, stop both loops
            group.cancelAll()
        }
    }

    func reload(because reason: String) {
        do {
            let summary = try certificate.reload()
            logger.notice("TLS certificate reloaded (\(reason)): \(summary)")
            announce("TLS reloaded: \(summary)")
        } catch {
            logger.error("TLS certificate not reloaded (\(reason)), still serving the previous one: \(error)")
        }
    }
}
