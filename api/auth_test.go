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
	"sync/atomic"
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
	// rotated, when set, is published beside key as "k2".
	rotated atomic.Pointer[rsa.PrivateKey]
	// fetches counts the requests for the keys.
	fetches atomic.Int64
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
	jwk := func(kid string, key *rsa.PrivateKey) map[string]any {
		return map[string]any{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}
	}
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		keys := []any{jwk("k1", key)}
		if k2 := f.rotated.Load(); k2 != nil {
			keys = append(keys, jwk("k2", k2))
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) token(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	return f.tokenWithKid(t, method, key, "k1", claims)
}

func (f *fakeIssuer) tokenWithKid(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
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

// An issuer without an audience is a configuration error: every token the
// issuer made for any other application would be accepted.
func TestOIDCNeedsAnAudience(t *testing.T) {
	f := newFakeIssuer(t)
	_, err := api.NewAuthenticator(context.Background(), api.AuthConfig{Issuer: f.srv.URL}, time.Now)
	assert.ErrorContains(t, err, "audience")
}

// Tokens naming keys the issuer does not publish make go-oidc fetch the keys
// again; the server asks the issuer at most once in 10 s, and a key the
// issuer rotates in counts once that has passed.
func TestOIDCKeyFetchesAreLimited(t *testing.T) {
	f := newFakeIssuer(t)
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	auth, err := api.NewAuthenticator(ctx, api.AuthConfig{Issuer: f.srv.URL, Audience: "custodian"}, now)
	require.NoError(t, err)
	claims := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": f.srv.URL, "aud": "custodian", "sub": "dana@idp",
			"exp": now().Add(time.Hour).Unix(), "iat": now().Unix(), "jti": rand.Text()}
	}
	_, err = api.VerifyForTest(ctx, auth, f.token(t, jwt.SigningMethodRS256, f.key, claims()))
	require.NoError(t, err)
	before := f.fetches.Load()
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for range 20 {
		_, err := api.VerifyForTest(ctx, auth, f.tokenWithKid(t, jwt.SigningMethodRS256, forger, rand.Text(), claims()))
		require.Error(t, err)
	}
	assert.LessOrEqual(t, f.fetches.Load()-before, int64(1), "20 forged tokens")

	rotated, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f.rotated.Store(rotated)
	_, err = api.VerifyForTest(ctx, auth, f.tokenWithKid(t, jwt.SigningMethodRS256, rotated, "k2", claims()))
	assert.Error(t, err, "within 10 s of the last fetch the new key is not known yet")
	clock.Add(int64(11 * time.Second))
	sub, err := api.VerifyForTest(ctx, auth, f.tokenWithKid(t, jwt.SigningMethodRS256, rotated, "k2", claims()))
	require.NoError(t, err, "after 10 s the keys are fetched again")
	assert.Equal(t, "dana@idp", sub)
}
