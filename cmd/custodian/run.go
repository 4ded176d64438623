package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: custodian <command> [flags]

commands:
  serve    serve the HTTP API on the configured store (--demo loads demo data)
  demo     serve with the demo data set, printing a token per user
  token    print a bearer token: --user ID | --operator
`

// errUsage is returned for a command line that names no known command.
var errUsage = errors.New("unknown command (see custodian help)")

// run is the whole program: main only calls it and turns its error into an exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve", "demo":
		return serve(ctx, args[0], args[1:], getenv, stdout, stderr)
	case "token":
		return token(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%q: %w", args[0], errUsage)
}
