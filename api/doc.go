// Package api is the HTTP contract of ../shared/api.md over echo v4: routes,
// authentication, strict decoding, the one error→problem+json mapping, and the
// load–decide–append loop that answers with consistency positions.
//
// It may import domain, projections, eventstore (never a concrete store), echo
// v4, google/uuid and the standard library.
package api
