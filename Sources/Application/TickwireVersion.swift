/// The one place the release version is written: `tickwire --version` prints
/// it, and a build_info metric can label itself with it. Bump it when a
/// release is cut.
public enum TickwireVersion {
    public static let current = "0.21.0"
}
