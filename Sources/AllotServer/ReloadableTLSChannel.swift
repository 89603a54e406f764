import AllotTLS
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// HTTPS for each accepted connection with the SSL context of the certificate loaded last
/// (``ServerCertificate/reload()``): a renewed certificate is served to new connections without a restart.
struct ReloadableTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let certificate: ServerCertificate

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = certificate.context
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension ReloadableTLSChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `configuration`, over TLS with `certificate` when there is one.
    static func http1(_ configuration: HTTP1Channel.Configuration, tls certificate: ServerCertificate?) -> HTTPServerBuilder {
        guard let certificate else { return .http1(configuration: configuration) }
        return HTTPServerBuilder { responder in
            ReloadableTLSChannel(base: HTTP1Channel(responder: responder, configuration: configuration), certificate: certificate)
        }
    }
}
