import ArgumentParser
import Glibc

/// swift-argument-parser's `main`, except that an error about an option the
/// environment set names the variable (TICKWIRE_DRAIN_TIMEOUT) instead of a
/// flag the operator never typed.
extension TickwireCommand {
    static func main(_ resolved: EnvironmentDefaults.Resolved) -> Never {
        if let refusal = resolved.refusal {
            StandardError.write("Error: \(refusal)\n")
            Glibc.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            var command = try parseAsRoot(resolved.arguments)
            try command.run()
            exit(withError: nil)
        } catch {
            let message = message(for: error)
            let attributed = EnvironmentDefaults.attribute(message, to: resolved.fromEnvironment)
            guard attributed != message, exitCode(for: error) != .success else { exit(withError: error) }
            // Only the error's own sentence is rewritten; the usage text keeps the flags' names.
            StandardError.write(fullMessage(for: error).replacingFirst(message, with: attributed) + "\n")
            Glibc.exit(exitCode(for: error).rawValue)
        }
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, let range = firstRange(of: target) else { return self }
        return self[..<range.lowerBound] + replacement + self[range.upperBound...]
    }
}
