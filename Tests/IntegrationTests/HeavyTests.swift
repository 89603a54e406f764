import Testing

/// Suites that load the machine hard for minutes (the chaos rounds; gigabytes through the storage emulators),
/// run one after the other instead of at once, so that neither starves the other's timing on two cores.
@Suite(.serialized) enum HeavyTests {}
