/// One field of a CSV row as written (RFC 4180): quoted, with `""` for each quote, when it holds a comma, a
/// quote or a line break; as it is otherwise.
public enum CSVField {
    /// Read by scalar: `"\r\n"` is one `Character`, equal to neither `"\r"` nor `"\n"`.
    public static func quote(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" { quoted.unicodeScalars.append("\"") }
            quoted.unicodeScalars.append(scalar)
        }
        return quoted + "\""
    }
}
