package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// minKeyFetch is how long an issuer's answer (its discovery document, its
// keys) is reused before the issuer is asked again. A key the issuer starts
// signing with is accepted at most this long after a token signed with a
// key unknown to us made us fetch the keys.
const minKeyFetch = 10 * time.Second

// maxKeyDocument bounds what is read of an issuer's answer.
const maxKeyDocument = 1 << 20

// fetchLimiter is the transport of the OIDC client. go-oidc caches the
// issuer's keys but fetches them again whenever a token names a key it does
// not hold, so anyone could make every request a fetch from the issuer with
// made-up tokens. Within minKeyFetch of a successful GET of a URL, the
// limiter answers the next GET of it with that answer instead.
type fetchLimiter struct {
	next     http.RoundTripper
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	last map[string]fetched // by URL
}

type fetched struct {
	at     time.Time
	header http.Header
	body   []byte
}

func newFetchLimiter(next http.RoundTripper, interval time.Duration, now func() time.Time) *fetchLimiter {
	return &fetchLimiter{next: next, interval: interval, now: now, last: map[string]fetched{}}
}

// RoundTrip implements http.RoundTripper.
func (l *fetchLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return l.next.RoundTrip(req)
	}
	url := req.URL.String()
	l.mu.Lock()
	f, ok := l.last[url]
	l.mu.Unlock()
	if ok && l.now().Sub(f.at) < l.interval {
		return f.response(req), nil
	}
	resp, err := l.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDocument+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	if len(body) > maxKeyDocument {
		return nil, fmt.Errorf("read %s: over %d bytes", url, maxKeyDocument)
	}
	f = fetched{at: l.now(), header: resp.Header.Clone(), body: body}
	l.mu.Lock()
	l.last[url] = f
	l.mu.Unlock()
	return f.response(req), nil
}

func (f fetched) response(req *http.Request) *http.Response {
	return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: f.header.Clone(), Body: io.NopCloser(bytes.NewReader(f.body)), ContentLength: int64(len(f.body)), Request: req}
}
