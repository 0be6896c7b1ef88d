// Package validate checks management API request bodies strictly (types, allowed values,
// allowed PATCH operations and paths, URL schemes) and turns them into the wire types of
// package protocol. Every failure is a 400/1301 *errs.Error whose message names the field.
package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/conclave-rtc/conclave/common/errs"
)

// msgParse is OWT's message for a body that is not JSON.
const msgParse = "Failed to parse JSON body"

// strict decodes data into v, rejecting unknown fields, trailing data and type mismatches.
// field prefixes the field names in messages ("" at the top level).
func strict(data []byte, v any, field string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, field)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.BadRequest(msgParse)
	}
	return nil
}

// decodeError words a json error as a 400/1301 naming the field.
func decodeError(err error, field string) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		name := join(field, typeErr.Field)
		if name == "" {
			return errs.BadRequestf("Invalid request body: expected %s", jsonKind(typeErr.Type.Kind().String()))
		}
		return errs.BadRequestf("Invalid %s: expected %s", name, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errs.BadRequest(msgParse)
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		if field != "" {
			return errs.BadRequestf("Unknown field %s in %s", rest, field)
		}
		return errs.BadRequestf("Unknown field %s", rest)
	}
	if field != "" {
		return errs.BadRequestf("Invalid %s", field)
	}
	return errs.BadRequest("Invalid request body")
}

// jsonKind names a Go kind as the JSON type a client should send.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "number"
	}
	return "another type"
}

// join builds a dotted field path.
func join(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	}
	return prefix + "." + name
}

// isFalse reports whether raw is the JSON literal false.
func isFalse(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("false")) }

// absent reports whether raw is missing or null.
func absent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// required returns a 400 naming a missing field.
func required(field string) error { return errs.BadRequestf("Missing %s", field) }

// invalid returns a 400 naming a field with a bad value and what is allowed.
func invalid(field, allowed string) error {
	return errs.BadRequestf("Invalid %s: %s", field, allowed)
}
