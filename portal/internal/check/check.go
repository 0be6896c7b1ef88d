// Package check validates client JSON with error texts shaped like the ajv messages OWT's
// portal answers (`request.media should have required property 'tracks'`), so clients and
// their logs see the same words as with the reference server.
//
// Only the first problem is reported (ajv's default allErrors=false).
package check

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// Root is the name ajv gives the validated value in OWT's messages.
const Root = "request"

// Error is a validation failure; its text is what the client receives.
type Error string

// Error implements error.
func (e Error) Error() string { return string(e) }

// Errorf-like constructors for the ajv texts used by OWT.
func shouldBe(path, kind string) Error { return Error(path + " should be " + kind) }

// Required is the ajv text for a missing property.
func Required(path, key string) Error {
	return Error(path + " should have required property '" + key + "'")
}

// Additional is the ajv text for an unexpected property.
func Additional(path string) Error { return Error(path + " should NOT have additional properties") }

// NotAllowed is the ajv text for a value outside an enum.
func NotAllowed(path string) Error {
	return Error(path + " should be equal to one of the allowed values")
}

// IsNull reports whether raw is absent or the JSON null.
func IsNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// IsFalse reports whether raw is the JSON false.
func IsFalse(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "false" }

// Obj is a JSON object found at a path of the request.
type Obj struct {
	Path string
	m    map[string]json.RawMessage
}

// Object decodes raw as a JSON object named path.
func Object(raw json.RawMessage, path string) (Obj, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return Obj{}, shouldBe(path, "object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return Obj{}, shouldBe(path, "object")
	}
	return Obj{Path: path, m: m}, nil
}

// At returns the path of key inside o.
func (o Obj) At(key string) string { return o.Path + "." + key }

// Has reports whether key is present (even as null).
func (o Obj) Has(key string) bool {
	_, ok := o.m[key]
	return ok
}

// Raw returns the raw value of key (nil when absent).
func (o Obj) Raw(key string) json.RawMessage { return o.m[key] }

// Require fails on the first missing key, in the order given.
func (o Obj) Require(keys ...string) error {
	for _, k := range keys {
		if !o.Has(k) {
			return Required(o.Path, k)
		}
	}
	return nil
}

// Only fails when o has a key not listed (additionalProperties: false).
func (o Obj) Only(keys ...string) error {
	for k := range o.m {
		if !slices.Contains(keys, k) {
			return Additional(o.Path)
		}
	}
	return nil
}

// String returns the string value of key; absent gives "" and ok=false.
func (o Obj) String(key string) (s string, ok bool, err error) {
	raw, present := o.m[key]
	if !present {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil || firstByte(raw) != '"' {
		return "", false, shouldBe(o.At(key), "string")
	}
	return s, true, nil
}

// Enum returns the string value of a present key that must be one of allowed.
func (o Obj) Enum(key string, allowed ...string) (string, bool, error) {
	raw, present := o.m[key]
	if !present {
		return "", false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || firstByte(raw) != '"' || !slices.Contains(allowed, s) {
		return "", false, NotAllowed(o.At(key))
	}
	return s, true, nil
}

// Bool returns the boolean value of a present key.
func (o Obj) Bool(key string) (bool, error) {
	raw, present := o.m[key]
	if !present {
		return false, nil
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, shouldBe(o.At(key), "boolean")
}

// Sub returns the object value of key.
func (o Obj) Sub(key string) (Obj, error) { return Object(o.m[key], o.At(key)) }

// Array returns the elements of the array value of key.
func (o Obj) Array(key string) ([]json.RawMessage, error) {
	raw := o.m[key]
	var items []json.RawMessage
	if firstByte(raw) != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, shouldBe(o.At(key), "array")
	}
	return items, nil
}

// Item returns the path of the i-th element of an array at path.
func Item(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Decode unmarshals the value of key into v, reporting a type mismatch as "should be kind".
func (o Obj) Decode(key, kind string, v any) error {
	raw := o.m[key]
	want := byte('{')
	if kind == "array" {
		want = '['
	}
	if firstByte(raw) != want || json.Unmarshal(raw, v) != nil {
		return shouldBe(o.At(key), kind)
	}
	return nil
}

// firstByte is the first non-space byte of raw, or 0.
func firstByte(raw json.RawMessage) byte {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return 0
	}
	return t[0]
}
