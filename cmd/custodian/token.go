package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/custodian/custodian/api"
)

// token prints a bearer token for a user or an operator, signed with the
// configured or generated HS256 secret.
func token(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, &cfg, getenv)
	user := fs.String("user", "", "the user's id or sign-in subject")
	operator := fs.Bool("operator", false, "a token for the first operator subject of CUSTODIAN_OPERATORS")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	ops := fs.String("operators", envOr(getenv, "CUSTODIAN_OPERATORS", "operator"), "operator subjects (CUSTODIAN_OPERATORS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*user == "") == !*operator {
		return errors.New("token: give exactly one of --user ID or --operator")
	}
	secret, err := loadSecret(cfg, false)
	if err != nil {
		return err
	}
	auth, err := api.NewAuthenticator(ctx, api.AuthConfig{Secret: secret}, time.Now)
	if err != nil {
		return err
	}
	sub := *user
	if *operator {
		sub = firstOperator(*ops)
	}
	tok, err := auth.Token(sub, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
