// Command credence is the Credence CLI:
//
//	credence serve   run every function in one local process on embedded adapters
//	credence verify  verify Open Badges 3.0 credentials (JSON, JWT, baked PNG/SVG)
//	credence roster  upload a roster as a bulk job and follow it
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes of every subcommand.
const (
	exitOK      = 0
	exitInvalid = 1 // verify: a credential is invalid; roster: some rows were rejected
	exitUsage   = 2 // bad usage, unreadable input, failure
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "verify":
		return verify(args[1:], stdin, stdout, stderr)
	case "roster":
		return roster(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "credence: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  credence serve [--addr 127.0.0.1:8080] [--data DIR] [--base-url URL]
  credence verify [--json] FILE_OR_URL...
  credence roster --server URL --key KEY --issuer ID --achievement ID FILE

Run 'credence COMMAND --help' for the options of a command.
`)
}
