// Package api is the HTTP contract of ../shared/api.md over echo v4: routes,
// authentication, strict decoding, the one error→problem+json mapping, and the
// load–decide–append loop that answers with consistency positions.
//
// It may import domain (and domain/eventcodec), projections, eventstore (never
// a concrete store), echo v4, golang-jwt/jwt/v5 and coreos/go-oidc (tokens),
// prometheus/client_golang (metrics), segmentio/encoding/json (the strict
// request decoder: it matches field names exactly), google/uuid and the
// standard library.
package api
