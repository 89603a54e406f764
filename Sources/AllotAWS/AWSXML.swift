import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// An element of an AWS XML answer: its name, text and children, namespaces dropped. AWS's Query APIs answer
/// in small documents; a tree is the plainest way to read them.
public final class AWSXMLElement: Sendable {
    public let name: String
    public let text: String
    public let children: [AWSXMLElement]

    init(name: String, text: String, children: [AWSXMLElement]) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// The first child named `name`.
    public subscript(_ name: String) -> AWSXMLElement? { children.first { $0.name == name } }

    /// The text at a path of child names (`["instanceState", "name"]`), trimmed; `nil` when absent or empty.
    public func value(_ path: String...) -> String? {
        var element: AWSXMLElement? = self
        for name in path { element = element?[name] }
        let text = element?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        return text?.isEmpty == false ? text : nil
    }

    /// The `<item>` children of the child named `name` (AWS's way of writing a list).
    public func items(_ name: String) -> [AWSXMLElement] { self[name]?.children.filter { $0.name == "item" } ?? [] }

    /// Every descendant named `name`, depth first.
    public func descendants(_ name: String) -> [AWSXMLElement] {
        children.flatMap { ($0.name == name ? [$0] : []) + $0.descendants(name) }
    }

    /// Parses a document; `nil` when it is not well-formed XML.
    public static func parse(_ data: Data) -> AWSXMLElement? {
        let builder = TreeBuilder()
        let parser = XMLParser(data: data)
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        private var stack: [(name: String, text: String, children: [AWSXMLElement])] = []
        var root: AWSXMLElement?

        func parser(
            _ parser: XMLParser,
            didStartElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
            stack.append((local, "", []))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard let top = stack.popLast() else { return }
            let element = AWSXMLElement(name: top.name, text: top.text, children: top.children)
            if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
        }
    }
}
