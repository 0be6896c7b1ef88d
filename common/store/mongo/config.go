package mongo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// configToBSON turns a room's JSON config into a BSON document through relaxed extended JSON,
// which keeps key order and maps JSON integers to int32/int64 and other numbers to doubles,
// so -1, 0.8 and integers beyond 2^53 come back as the same JSON numbers.
func configToBSON(cfg json.RawMessage) (bson.D, error) {
	trimmed := bytes.TrimLeft(cfg, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidConfig)
	}
	if key, ok := dollarKey(trimmed); ok {
		return nil, fmt.Errorf("%w: field name %q starts with '$'", ErrInvalidConfig, key)
	}
	var doc bson.D
	if err := bson.UnmarshalExtJSON(trimmed, false, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if doc == nil {
		doc = bson.D{}
	}
	return doc, nil
}

// compactJSON is cfg, valid JSON (configToBSON checked it), without insignificant spaces.
func compactJSON(cfg json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, cfg); err != nil {
		return string(cfg)
	}
	return b.String()
}

// configFromBSON turns a stored config back into JSON (relaxed extended JSON, which for the
// types configToBSON produces is plain JSON).
func configFromBSON(raw bson.Raw) (json.RawMessage, error) {
	if len(raw) == 0 {
		return json.RawMessage(`{}`), nil
	}
	out, err := bson.MarshalExtJSON(raw, false, false)
	if err != nil {
		return nil, fmt.Errorf("decode room config: %w", err)
	}
	return out, nil
}

// dollarKey returns the first object key anywhere in data that starts with "$". data must be
// valid JSON.
func dollarKey(data []byte) (string, bool) {
	type frame struct{ object, wantKey bool }
	var stack []frame
	// consumed records that a value ended inside the innermost container.
	consumed := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		n := len(stack)
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if n > 0 && stack[n-1].object {
					stack[n-1].wantKey = false
				}
				stack = append(stack, frame{object: v == '{', wantKey: v == '{'})
			default:
				stack = stack[:n-1]
				consumed()
			}
		case string:
			if n > 0 && stack[n-1].object && stack[n-1].wantKey {
				if strings.HasPrefix(v, "$") {
					return v, true
				}
				stack[n-1].wantKey = false
				continue
			}
			consumed()
		default:
			consumed()
		}
	}
}
