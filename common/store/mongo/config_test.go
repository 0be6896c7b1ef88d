package mongo

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
)

func TestMongoConfigConversion(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"object", `{"a":1,"b":[1,2,{"c":0.8}],"d":null,"e":"$x"}`, nil},
		{"empty object", `{}`, nil},
		{"big ints", `{"big":9007199254740993,"neg":-9223372036854775808}`, nil},
		{"leading space", " \n{\"a\":true}", nil},
		{"dollar at top", `{"$set":1}`, ErrInvalidConfig},
		{"dollar nested", `{"a":[{"b":{"$date":"x"}}]}`, ErrInvalidConfig},
		{"dollar value is fine", `{"a":"$b","c":["$d"]}`, nil},
		{"array", `[1]`, ErrInvalidConfig},
		{"null", `null`, ErrInvalidConfig},
		{"invalid", `{"a":`, ErrInvalidConfig},
		{"empty", ``, ErrInvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := configToBSON([]byte(tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("configToBSON(%q) = %v, want %v", tc.in, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			assertRoundTrip(t, []byte(tc.in), doc)
		})
	}
}

func FuzzMongoConfig(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":1}`, `{"a":-1,"b":0.8,"c":9007199254740993}`,
		`{"x":[1,"s",null,true,{"y":{}}]}`, `{"$x":1}`, `{"a":{"$numberLong":"5"}}`, `[]`,
		`{"a":1e400}`, `{"a":123456789012345678901234567890}`, `{"a":"\u0000"}`, `{"a":1,"a":2}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, err := configToBSON(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		assertRoundTrip(t, in, doc)
	})
}

// assertRoundTrip stores doc as BSON, reads it back as JSON and checks it is the same JSON
// value as in.
func assertRoundTrip(t *testing.T, in []byte, doc any) {
	t.Helper()
	raw, err := bson.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal %q: %v", in, err)
	}
	out, err := configFromBSON(bson.Raw(raw))
	if err != nil {
		t.Fatalf("configFromBSON(%q): %v", in, err)
	}
	want, got := decodeJSON(t, in), decodeJSON(t, out)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("round trip changed the config:\n in  %s\n out %s", in, out)
	}
}

// decodeJSON decodes with integers as int64 and other numbers as float64 (duplicate keys:
// the last wins on both sides).
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %q: %v", b, err)
	}
	return norm(v)
}

func norm(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = norm(e)
		}
	case []any:
		for i, e := range x {
			x[i] = norm(e)
		}
	}
	return v
}
