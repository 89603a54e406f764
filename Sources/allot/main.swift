import AllotCommands
import ArgumentParser

Allot.main()
