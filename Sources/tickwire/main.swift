// Parse the configuration, wire the layers, run. Nothing else lives here.
import Foundation

let arguments = EnvironmentDefaults.apply(
    to: Array(CommandLine.arguments.dropFirst()),
    options: TickwireCommand.environmentOptions,
    flags: TickwireCommand.environmentFlags,
    environment: ProcessInfo.processInfo.environment
)
TickwireCommand.main(arguments)
