/// Every long option also reads `TICKWIRE_<OPTION>` (upper case, dashes as
/// underscores), as containers configure servers. A flag on the command line
/// wins over the environment. This rewrites the argument list before
/// swift-argument-parser sees it, so parsing and validation stay in one place;
/// it remembers which options the environment supplied, so that an error about
/// one names the variable the operator set rather than a flag they never typed.
enum EnvironmentDefaults {
    /// The argument list with the environment folded in, and where each
    /// folded-in option came from.
    struct Resolved {
        var arguments: [String]
        /// Options (without `--`) whose value came from the environment.
        var fromEnvironment: [String] = []
        /// A boolean variable whose value is not true/false/1/0: refused before parsing.
        var refusal: String?
    }

    static func variableName(for option: String) -> String {
        "TICKWIRE_" + option.uppercased().replacingDashes()
    }

    static func apply(to arguments: [String], options: [String], flags: [String] = [],
                      environment: [String: String]) -> [String] {
        resolve(arguments, options: options, flags: flags, environment: environment).arguments
    }

    static func resolve(_ arguments: [String], options: [String], flags: [String] = [],
                        environment: [String: String]) -> Resolved {
        var resolved = Resolved(arguments: arguments)
        for option in options {
            let flag = "--" + option
            let given = arguments.contains { $0 == flag || $0.hasPrefix(flag + "=") }
            if !given, let value = environment[variableName(for: option)] {
                resolved.arguments.append(flag + "=" + value)
                resolved.fromEnvironment.append(option)
            }
        }
        // A boolean flag takes true/1 (on) or false/0 (off); either spelling
        // on the command line (`--flag`, `--no-flag`) wins over the variable.
        for name in flags where !arguments.contains("--" + name) && !arguments.contains("--no-" + name) {
            guard let value = environment[variableName(for: name)] else { continue }
            switch value.lowercased() {
            case "true", "1": resolved.arguments.append("--" + name)
            case "false", "0", "": break
            default:
                resolved.refusal = "\(variableName(for: name))='\(value)' must be true or false (or 1 or 0)"
            }
        }
        return resolved
    }

    /// `message` with each `--option` the environment supplied replaced by its
    /// variable: "--drain-timeout '5' is not a duration" becomes
    /// "TICKWIRE_DRAIN_TIMEOUT '5' is not a duration".
    static func attribute(_ message: String, to options: [String]) -> String {
        // Longest first, so --max-connection-age-grace is not taken for --max-connection-age.
        options.sorted { $0.count > $1.count }.reduce(message) { text, option in
            text.replacingOption("--" + option, with: variableName(for: option))
        }
    }
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }

    /// Replaces `flag` where it stands as a whole option name (not followed
    /// by more of a longer option's name).
    fileprivate func replacingOption(_ flag: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: flag) {
            result += rest[..<range.lowerBound]
            let next = rest[range.upperBound...].first
            let continuesName = next.map { $0.isLetter || $0.isNumber || $0 == "-" } ?? false
            result += continuesName ? flag : replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
