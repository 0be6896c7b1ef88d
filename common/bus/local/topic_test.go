package local

import (
	"strings"
	"testing"
)

func TestBusTopicMatch(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"#", "", true},
		{"#", "a", true},
		{"#", "a.b.c", true},
		{"*", "", false},
		{"*", "a", true},
		{"*", "a.b", false},
		{"", "", true},
		{"", "a", false},
		{"a", "a", true},
		{"a", "b", false},
		{"a", "a.b", false},
		{"a.b", "a", false},
		{"a.#", "a", true},
		{"a.#", "a.b", true},
		{"a.#", "a.b.c", true},
		{"a.#", "b.a", false},
		{"a.#", "ab", false},
		{"#.b", "b", true},
		{"#.b", "a.b", true},
		{"#.b", "x.y.b", true},
		{"#.b", "b.c", false},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.c", false},
		{"a.*.c", "a.b.b.c", false},
		{"a.#.c", "a.c", true},
		{"a.#.c", "a.b.b.c", true},
		{"a.#.c", "a.b.b.d", false},
		{"#.#", "", true},
		{"#.#", "a.b", true},
		{"#.*", "", false},
		{"#.*", "a", true},
		{"*.#", "a.b.c", true},
		{"#.a.#", "x.a.y", true},
		{"#.a.#", "x.b.y", false},
		{"a.*.#.d", "a.b.d", true},
		{"a.*.#.d", "a.d", false},
		{"a..b", "a..b", true},
		{"a.*.b", "a..b", true},
		{"room.*.joined", "room.r1.joined", true},
		{"room.*.joined", "room.r1.left", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+"|"+tc.topic, func(t *testing.T) {
			if got := Match(tc.pattern, tc.topic); got != tc.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", tc.pattern, tc.topic, got, tc.want)
			}
		})
	}
}

// naiveMatch is an independent, exponential reference implementation for the fuzzer.
func naiveMatch(p, t []string) bool {
	if len(p) == 0 {
		return len(t) == 0
	}
	switch {
	case p[0] == "#":
		for k := 0; k <= len(t); k++ {
			if naiveMatch(p[1:], t[k:]) {
				return true
			}
		}
		return false
	case len(t) == 0:
		return false
	case p[0] == "*" || p[0] == t[0]:
		return naiveMatch(p[1:], t[1:])
	}
	return false
}

func FuzzBusTopicMatch(f *testing.F) {
	for _, s := range [][2]string{{"#", ""}, {"a.#", "a"}, {"#.b", "x.b"}, {"a.*.c", "a.b.c"},
		{"#.#.*", "a.b"}, {"a..#", "a."}, {"*.*", "."}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		p, w := words(pattern), words(topic)
		if len(p) > 12 || len(w) > 12 || strings.Count(pattern, "#") > 4 {
			t.Skip() // keep the reference implementation fast
		}
		if got, want := Match(pattern, topic), naiveMatch(p, w); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, topic, got, want)
		}
		if !strings.ContainsAny(topic, "*#") && !Match(topic, topic) {
			t.Fatalf("literal topic %q does not match itself", topic)
		}
	})
}
