extension Swift.Duration {
    /// The duration in seconds, for printing figures.
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
