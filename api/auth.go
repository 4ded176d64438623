package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
)

// AuthConfig says how bearer tokens are verified: with an HS256 secret
// (development and tests) or against an OIDC issuer's published keys.
type AuthConfig struct {
	// Secret is the HS256 key; used when Issuer is empty.
	Secret []byte
	// Issuer and Audience select OIDC verification: keys come from the
	// issuer's discovery document and JWKS, fetched and cached.
	Issuer   string
	Audience string
	// Operators are the token subjects that are operators.
	Operators []string
}

// Authenticator verifies bearer tokens.
type Authenticator struct {
	secret    []byte
	verifier  *oidc.IDTokenVerifier
	operators map[string]bool
	now       func() time.Time

	// verified remembers tokens whose signature and claims were checked,
	// with their subject and expiry, so that a client's every request does
	// not pay for the signature again. Expiry is checked on every use.
	mu       sync.Mutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	subject string
	expires time.Time
}

// maxVerified bounds the cache of verified tokens.
const maxVerified = 10_000

// NewAuthenticator returns an authenticator for cfg. With an issuer it
// fetches the issuer's discovery document (ctx bounds that).
func NewAuthenticator(ctx context.Context, cfg AuthConfig, now func() time.Time) (*Authenticator, error) {
	a := &Authenticator{operators: map[string]bool{}, now: now, verified: map[string]verifiedToken{}}
	for _, op := range cfg.Operators {
		if op = strings.TrimSpace(op); op != "" {
			a.operators[op] = true
		}
	}
	switch {
	case cfg.Issuer != "" && cfg.Audience == "":
		return nil, errors.New("auth: an OIDC issuer needs an audience (CUSTODIAN_OIDC_AUDIENCE): " +
			"without one, a token the issuer made for any other application would be accepted")
	case cfg.Issuer != "":
		// go-oidc fetches the keys again for a token signed with a key it
		// does not know; the limiter keeps forged tokens from making every
		// request a fetch.
		limited := &http.Client{Timeout: 30 * time.Second, Transport: newFetchLimiter(http.DefaultTransport, minKeyFetch, now)}
		provider, err := oidc.NewProvider(oidc.ClientContext(ctx, limited), cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("oidc issuer %s: %w", cfg.Issuer, err)
		}
		a.verifier = provider.Verifier(&oidc.Config{
			ClientID:             cfg.Audience,
			SupportedSigningAlgs: []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "EdDSA"},
			Now:                  now,
		})
	case len(cfg.Secret) >= 32:
		a.secret = cfg.Secret
	default:
		return nil, errors.New("auth: an HS256 secret of at least 32 bytes or an OIDC issuer is required")
	}
	return a, nil
}

// IsOperator reports whether sub is an operator's subject.
func (a *Authenticator) IsOperator(sub string) bool { return a.operators[sub] }

// verify checks a bearer token and returns its subject. Algorithms are an
// allow-list (HS256 with the secret; asymmetric ones with OIDC), exp is
// required, iss and aud are checked when configured.
func (a *Authenticator) verify(ctx context.Context, raw string) (string, error) {
	a.mu.Lock()
	v, ok := a.verified[raw]
	a.mu.Unlock()
	if ok && a.now().Before(v.expires) {
		return v.subject, nil
	}
	sub, exp, err := a.verifyToken(ctx, raw)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	if len(a.verified) >= maxVerified {
		clear(a.verified)
	}
	a.verified[raw] = verifiedToken{subject: sub, expires: exp}
	a.mu.Unlock()
	return sub, nil
}

// verifyToken checks a token's signature and claims and returns its subject
// and expiry.
func (a *Authenticator) verifyToken(ctx context.Context, raw string) (string, time.Time, error) {
	if a.verifier != nil {
		tok, err := a.verifier.Verify(ctx, raw)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("%w: %v", errUnauthenticated, err)
		}
		if tok.Expiry.IsZero() {
			return "", time.Time{}, fmt.Errorf("%w: token has no exp", errUnauthenticated)
		}
		return tok.Subject, tok.Expiry, nil
	}
	claims := jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return a.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now),
		jwt.WithLeeway(5*time.Second))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %v", errUnauthenticated, err)
	}
	if claims.Subject == "" {
		return "", time.Time{}, fmt.Errorf("%w: token has no sub", errUnauthenticated)
	}
	return claims.Subject, claims.ExpiresAt.Time, nil
}

// Token returns an HS256 token for sub valid for ttl, for `custodian token`
// and tests. It fails when the authenticator verifies OIDC tokens.
func (a *Authenticator) Token(sub string, ttl time.Duration) (string, error) {
	if a.secret == nil {
		return "", errors.New("auth: tokens can only be issued with an HS256 secret")
	}
	now := a.now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}).SignedString(a.secret)
}

// Caller is who sent a request: an operator, or an active user with its
// access-decision Subject.
type Caller struct {
	Operator bool
	// TokenSubject is the token's sub.
	TokenSubject string
	User         domain.User
	Subject      domain.Subject
}

// OrgID is the caller's organization (uuid.Nil for an operator).
func (c Caller) OrgID() uuid.UUID { return c.User.OrgID }

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
