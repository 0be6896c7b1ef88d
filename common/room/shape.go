package room

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/conclave-rtc/conclave/common/errs"
)

// maxArrayLen bounds every JSON array before it is decoded into the model; Validate applies the
// tighter per-field limits.
const maxArrayLen = 1024

var (
	fractionType = reflect.TypeFor[Fraction]()
	bitrateType  = reflect.TypeFor[Bitrate]()
)

// decodeJSON parses body into generic JSON values (numbers kept as json.Number) with every null
// object member removed, as OWT's removeNull does before saving.
func decodeJSON(body []byte, what string) (any, error) {
	if len(body) > MaxBodySize {
		return nil, errs.New(http.StatusRequestEntityTooLarge, errs.CodeBadRequest,
			fmt.Sprintf("Request body too large: %s larger than %d bytes", what, MaxBodySize))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errs.BadRequestf("%s is not valid JSON: %v", what, err)
	}
	if dec.More() {
		return nil, errs.BadRequestf("%s has data after the JSON value", what)
	}
	return stripNulls(v), nil
}

// stripNulls removes null members from every object inside v. Nulls inside arrays are kept
// (and later rejected by checkShape).
func stripNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = stripNulls(e)
		}
	case []any:
		for i, e := range t {
			t[i] = stripNulls(e)
		}
	}
	return v
}

// checkShape verifies that v, a generic JSON value, fits Go type t: objects only have keys
// that are JSON field names of the struct, values have the right JSON types, integers are
// integers. Errors name the path, e.g. `views[0].video.maxInput must be an integer`.
func checkShape(t reflect.Type, v any, path string) error {
	switch t {
	case fractionType:
		return expectStringOrNumber(v, path, "")
	case bitrateType:
		return expectStringOrNumber(v, path, "x")
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v == false {
			return nil // nil pointer: audio-only view, no SIP
		}
		return checkShape(t.Elem(), v, path)
	case reflect.Struct:
		return checkStruct(t, v, path)
	case reflect.Slice:
		return checkSlice(t, v, path)
	case reflect.String:
		return expect[string](v, path, "a string")
	case reflect.Bool:
		return expect[bool](v, path, "a boolean")
	case reflect.Int:
		return checkInt(v, path)
	case reflect.Float64:
		return checkFloat(v, path)
	}
	return errs.BadRequestf("%s has an unsupported type", path)
}

// expect checks that v has Go type T.
func expect[T any](v any, path, what string) error {
	if _, ok := v.(T); !ok {
		return errs.BadRequestf("%s must be %s", path, what)
	}
	return nil
}

// expectStringOrNumber accepts a number, or a string starting with prefix.
func expectStringOrNumber(v any, path, prefix string) error {
	switch t := v.(type) {
	case json.Number:
		return nil
	case string:
		if strings.HasPrefix(t, prefix) {
			return nil
		}
		return errs.BadRequestf("%s must be a number or a string starting with %q", path, prefix)
	}
	return errs.BadRequestf("%s must be a string or a number", path)
}

func checkInt(v any, path string) error {
	n, ok := v.(json.Number)
	if !ok {
		return errs.BadRequestf("%s must be a number", path)
	}
	if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
		return errs.BadRequestf("%s must be an integer, not %s", path, n)
	}
	return nil
}

func checkFloat(v any, path string) error {
	n, ok := v.(json.Number)
	if !ok {
		return errs.BadRequestf("%s must be a number", path)
	}
	if f, err := strconv.ParseFloat(string(n), 64); err != nil || math.IsInf(f, 0) {
		return errs.BadRequestf("%s is out of range", path)
	}
	return nil
}

func checkSlice(t reflect.Type, v any, path string) error {
	list, ok := v.([]any)
	if !ok {
		return errs.BadRequestf("%s must be an array", path)
	}
	if len(list) > maxArrayLen {
		return errs.BadRequestf("%s has more than %d elements", path, maxArrayLen)
	}
	for i, e := range list {
		if err := checkShape(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func checkStruct(t reflect.Type, v any, path string) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return errs.BadRequestf("%s must be an object", describe(path))
	}
	for key, e := range obj {
		f, ok := fieldByJSONName(t, key)
		if !ok {
			return errs.BadRequestf("unknown key %s", join(path, key))
		}
		if err := checkShape(f.Type, e, join(path, key)); err != nil {
			return err
		}
	}
	return nil
}

// fieldByJSONName finds the exported field of struct type t whose JSON name is exactly name.
// (encoding/json would also match other letter cases; checkShape rules those keys out first.)
func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && tag != "-" && tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// join appends key to a dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names the root for messages.
func describe(path string) string {
	if path == "" {
		return "the room"
	}
	return path
}
