import Foundation
import Mustache

/// The console's templates and static files, read once from the bundle.
enum WebTemplates {
    static let directory: String? = Bundle.module.url(forResource: "web", withExtension: nil)?.path

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return library }
        for name in names where name.hasSuffix(".mustache") {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            try? library.register(String(decoding: data, as: UTF8.self), named: String(name.dropLast(".mustache".count)))
        }
        return library
    }()

    /// `style.css` and `app.js`, by name.
    static let assets: [String: (type: String, bytes: [UInt8])] = {
        var assets: [String: (String, [UInt8])] = [:]
        for (name, type) in [("style.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8")] {
            if let directory, let data = FileManager.default.contents(atPath: directory + "/" + name) { assets[name] = (type, [UInt8](data)) }
        }
        return assets
    }()

    static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? "template \(name) is missing"
    }
}
