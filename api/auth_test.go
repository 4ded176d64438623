package api_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/api"
)

// fakeIssuer is an OIDC provider on httptest: a discovery document and a
// JWKS with one RSA key. It is a fake of the issuer, not of our code.
type fakeIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f := &fakeIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": f.srv.URL, "jwks_uri": f.srv.URL + "/keys",
			"authorization_endpoint": f.srv.URL + "/auth", "token_endpoint": f.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) token(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// TestOIDCTokens verifies tokens against an issuer's published keys: the
// audience and issuer are checked, exp is required, and neither "none" nor
// HMAC signed with the public key is accepted.
func TestOIDCTokens(t *testing.T) {
	f := newFakeIssuer(t)
	ctx := context.Background()
	auth, err := api.NewAuthenticator(ctx, api.AuthConfig{Issuer: f.srv.URL, Audience: "custodian"}, time.Now)
	require.NoError(t, err)
	exp := time.Now().Add(time.Hour).Unix()
	good := jwt.MapClaims{"iss": f.srv.URL, "aud": "custodian", "sub": "dana@idp", "exp": exp, "iat": time.Now().Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	sub, err := api.VerifyForTest(ctx, auth, f.token(t, jwt.SigningMethodRS256, f.key, good))
	require.NoError(t, err)
	assert.Equal(t, "dana@idp", sub)

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pubDER := f.key.PublicKey.N.Bytes()
	bad := map[string]string{
		"wrong audience":   f.token(t, jwt.SigningMethodRS256, f.key, with("aud", "someone-else")),
		"wrong issuer":     f.token(t, jwt.SigningMethodRS256, f.key, with("iss", "https://evil.example")),
		"expired":          f.token(t, jwt.SigningMethodRS256, f.key, with("exp", time.Now().Add(-time.Hour).Unix())),
		"no exp":           f.token(t, jwt.SigningMethodRS256, f.key, with("exp", nil)),
		"another key":      f.token(t, jwt.SigningMethodRS256, other, good),
		"HMAC, public key": f.token(t, jwt.SigningMethodHS256, pubDER, good),
		"alg none":         f.token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good),
	}
	for name, tok := range bad {
		_, err := api.VerifyForTest(ctx, auth, tok)
		assert.Error(t, err, name)
	}
	_, err = auth.Token("x", time.Hour)
	assert.Error(t, err, "no HS256 tokens are minted in OIDC mode")
}
