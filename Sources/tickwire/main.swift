// Parse the configuration, wire the layers, run. Nothing else lives here.
import Foundation

let resolved = EnvironmentDefaults.resolve(
    Array(CommandLine.arguments.dropFirst()),
    options: TickwireCommand.environmentOptions,
    flags: TickwireCommand.environmentFlags,
    environment: ProcessInfo.processInfo.environment
)
TickwireCommand.main(resolved)
