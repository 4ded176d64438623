package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	sjson "github.com/segmentio/encoding/json"
)

// validator is implemented by request bodies that check their own fields
// after decoding.
type validator interface {
	Valid() []FieldError
}

// decode reads the request body into dst with the one strict decoder of the
// api: unknown fields, wrong types, malformed JSON, trailing data and a
// missing body are 400s naming the field; a body over the route's limit is a
// 413. It then runs dst's Valid, if it has one.
func decode(c echo.Context, dst any) error {
	buf := getBuf()
	defer putBuf(buf) // the decoder copies what it keeps
	if _, err := buf.ReadFrom(c.Request().Body); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", mb.Limit))
		}
		return invalid("", "could not read the body")
	}
	body := buf.Bytes()
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("", "a JSON body is required")
	}
	// Field names match exactly: encoding/json would also take "TITLE"
	// for "title".
	rest, err := sjson.Parse(body, dst, sjson.DisallowUnknownFields|sjson.DontMatchCaseInsensitiveStructFields)
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return invalid("", "unexpected data after the JSON value")
	}
	if v, ok := dst.(validator); ok {
		if fields := v.Valid(); len(fields) > 0 {
			return &inputError{fields: fields}
		}
	}
	return nil
}

// decodeError turns encoding/json's errors into field errors.
func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var fe *FieldError
	switch {
	case errors.As(err, &syn):
		return invalid("", fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "malformed JSON: unexpected end")
	case errors.As(err, &typ):
		field := jsonPath(typ.Field)
		if field == "" {
			field = "(body)"
		}
		return invalid(field, "must be "+jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &fe):
		return &inputError{fields: []FieldError{*fe}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(name, "unknown field")
	}
	return invalid("", "malformed JSON")
}

// jsonPath writes the decoder's field path ("entries.0.level") as the
// errors of the api name fields ("entries[0].level").
func jsonPath(field string) string {
	var b strings.Builder
	for i, part := range strings.Split(field, ".") {
		switch {
		case part != "" && strings.Trim(part, "0123456789") == "":
			b.WriteString("[" + part + "]")
		case i > 0:
			b.WriteString("." + part)
		default:
			b.WriteString(part)
		}
	}
	return b.String()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64", "uint32", "float64", "float32":
		return "a number"
	}
	return "of another type"
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Nullable is a JSON field that distinguishes absent, null and a value.
type Nullable[T any] struct {
	Set   bool // present in the body (null or a value)
	Null  bool
	Value T
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// queryParams parses the request's query string strictly: a malformed one,
// a parameter not in allowed and a parameter given twice are 400s naming
// each. (echo's QueryParams drops what it cannot parse.)
func queryParams(c echo.Context, allowed ...string) (url.Values, error) {
	vals, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, invalid("(query)", "malformed query string")
	}
	var errs fieldErrors
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		switch {
		case !slices.Contains(allowed, name):
			errs.add(name, "unknown query parameter")
		case len(vals[name]) > 1:
			errs.add(name, "may be given once")
		}
	}
	return vals, errs.err()
}
