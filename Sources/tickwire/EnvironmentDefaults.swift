/// Every long option also reads `TICKWIRE_<OPTION>` (upper case, dashes as
/// underscores), as containers configure servers. A flag on the command line
/// wins over the environment. This rewrites the argument list before
/// swift-argument-parser sees it, so parsing and validation stay in one place.
enum EnvironmentDefaults {
    static func variableName(for option: String) -> String {
        "TICKWIRE_" + option.uppercased().replacingDashes()
    }

    static func apply(to arguments: [String], options: [String], flags: [String] = [],
                      environment: [String: String]) -> [String] {
        var result = arguments
        for option in options {
            let flag = "--" + option
            let given = arguments.contains { $0 == flag || $0.hasPrefix(flag + "=") }
            if !given, let value = environment[variableName(for: option)] {
                result.append(flag + "=" + value)
            }
        }
        // A boolean flag takes true/1 (on) or false/0 (off); anything else
        // is passed on as `--flag=value`, which the parser refuses by name.
        for name in flags where !arguments.contains("--" + name) {
            guard let value = environment[variableName(for: name)] else { continue }
            switch value.lowercased() {
            case "true", "1": result.append("--" + name)
            case "false", "0", "": break
            default: result.append("--" + name + "=" + value)
            }
        }
        return result
    }
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
