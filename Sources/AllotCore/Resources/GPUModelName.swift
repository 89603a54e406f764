/// Short GPU model names: `NVIDIA H100 80GB HBM3` → `H100`, `NVIDIA A100-SXM4-80GB` → `A100`,
/// `Tesla V100-SXM2-16GB` → `V100`, `NVIDIA GeForce RTX 4090` → `RTX4090`, `NVIDIA RTX A6000` → `A6000`.
///
/// Discovery reports the product name; tasks ask for the short name. Both go through ``normalize(_:)`` before
/// they are compared, so either form matches.
public enum GPUModelName {
    static let vendorWords: Set<String> = ["nvidia", "tesla", "geforce", "quadro", "amd", "radeon", "instinct", "intel"]

    public static func normalize(_ name: String) -> String {
        var words = name.split(whereSeparator: { $0 == " " || $0 == "_" }).map(String.init)
        while let first = words.first, vendorWords.contains(first.lowercased()) { words.removeFirst() }
        guard var first = words.first else { return name.trimmingSpaces() }
        if first.uppercased() == "RTX", words.count > 1 {
            let next = words[1]
            if let initial = next.first, initial.isLetter { return String(next.split(separator: "-").first ?? Substring(next)) }
            first = "RTX" + next
        }
        return String(first.split(separator: "-").first ?? Substring(first))
    }
}
