// Command custodian is the Custodian server and its operator tools: serve,
// token, demo, projections, audit and evidence subcommands.
//
// It owns process concerns only: flags and CUSTODIAN_* environment into a
// Config, the logger, choosing and opening the store, the HTTP server and
// shutdown on a signal. It may import every package of the module.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "custodian: %v\n", err)
		os.Exit(1)
	}
}
