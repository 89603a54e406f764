import AllotAPI

/// A page: its template, title, and what goes into the layout around it.
struct WebPage {
    var title: String
    /// The template's name, also the nav entry it highlights.
    var name: String
    var context: [String: Any] = [:]
    var notice: String?
    var error: String?

    static let navigation: [(href: String, label: String, page: String)] = [
        ("/ui/overview", "Overview", "overview"), ("/ui/nodes", "Nodes", "nodes"), ("/ui/jobs", "Jobs", "jobs"),
        ("/ui/tenants", "Tenants", "tenants"), ("/ui/costs", "Costs", "costs"), ("/ui/recommendations", "Recommendations", "recommendations"),
        ("/ui/offers", "Cloud offers", "offers"),
    ]

    /// The page for a signed-in user.
    func render(_ session: APIRoutes.WebRequest) -> String {
        var page = context
        page["csrf"] = session.csrf
        let body = WebTemplates.render(name, page)
        var layout: [String: Any] = [
            "title": title, "page": name, "body": body, "signedIn": true, "actor": session.identity.actor,
            "role": session.identity.roleName, "tenant": session.identity.tenant, "csrf": session.csrf,
            "nav": Self.navigation.map { ["href": $0.href, "label": $0.label, "current": $0.page == name || (name == "job" && $0.page == "jobs")] },
        ]
        if let notice { layout["notice"] = notice }
        if let error { layout["error"] = error }
        return WebTemplates.render("layout", layout)
    }

    /// A page before sign-in.
    func render(_ context: [String: Any]) -> String {
        var layout: [String: Any] = ["title": title, "page": name, "body": WebTemplates.render(name, context), "signedIn": false]
        if let error { layout["error"] = error }
        return WebTemplates.render("layout", layout)
    }
}
