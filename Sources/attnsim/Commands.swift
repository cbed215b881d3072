import AttnCore
import Experiments

/// The commands that work, in help order.
func allCommands() -> [CommandSpec] {
    []
}
