/// Tickwire's version: the one constant that `tickwire_build_info` (and a
/// `--version` flag) report. Raise it when a release is cut.
public let tickwireVersion = "0.1.0"
