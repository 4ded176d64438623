// Package tests holds black-box tests that build the real custodian binary,
// start it on a free port with its own data directory, and talk HTTP to it:
// acceptance scenarios, crash and restart, load.
//
// It imports only the standard library, testify, and golang-jwt to mint the
// bearer tokens a client would hold.
package tests
