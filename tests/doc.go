// Package tests holds black-box tests that build the real custodian binary,
// start it on a free port with its own data directory, and talk HTTP to it:
// acceptance scenarios, the authorization matrix, bad input, crash and
// restart, and the load benchmarks.
//
// It imports the standard library, testify, and golang-jwt to mint the bearer
// tokens a client would hold. Only the load benchmarks import our packages:
// the start-up benchmark writes a 1,000,000-event log straight into an
// embedded store (domain events through eventstore/embedded) before starting
// the binary on it, and the command benchmark measures the bare store rate in
// the same run as its reference.
package tests
