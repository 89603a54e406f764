import AllotTLS
import Foundation
import NIOSSL

extension ServerCommand {
    /// HTTPS as asked for, and the line that tells agents and clients what to pin.
    struct ServerTLS {
        var configuration: TLSConfiguration
        var announcement: String
    }

    var scheme: String { tls || tlsCertificate != nil ? "https" : "http" }

    /// `--tls`: the data directory's authority and a server certificate for this server's names (made or
    /// reissued as needed); `--tls-cert`/`--tls-key`: yours; neither: plain HTTP (`nil`).
    func serverTLS() throws -> ServerTLS? {
        if let tlsCertificate, let tlsKey {
            do {
                return ServerTLS(
                    configuration: try TLSConfigurations.server(certificatePath: tlsCertificate, keyPath: tlsKey),
                    announcement: "TLS: certificate \(tlsCertificate) (yours)"
                )
            } catch {
                throw CommandFailure("--tls-cert: \(error)")
            }
        }
        guard tls else { return nil }
        do {
            let files = try ServerTLSFiles.prepare(in: options.dataDirectory + "/tls", names: certificateNames)
            return ServerTLS(
                configuration: try TLSConfigurations.server(certificatePath: files.certificatePath, keyPath: files.keyPath),
                announcement:
                    "TLS: certificate authority \(files.caPath), SHA-256 fingerprint \(files.caFingerprint); server certificate for \(files.names.joined(separator: ", "))"
            )
        } catch {
            throw CommandFailure("--tls: \(error)")
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
}
