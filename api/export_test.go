package api

import "context"

// VerifyForTest exposes token verification to the black-box tests of package api_test.
func VerifyForTest(ctx context.Context, a *Authenticator, raw string) (string, error) {
	return a.verify(ctx, raw)
}
