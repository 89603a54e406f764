import AllotCommands
import ArgumentParser

/// The `allot` executable: parses the command line and runs the command, async ones included.
@main
struct Entry {
    static func main() async {
        await Allot.main()
    }
}
