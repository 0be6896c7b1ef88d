package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestLoggingNew(t *testing.T) {
	tests := []struct {
		level, format string
		wantErr       bool
		logged        []string // levels that must appear
		dropped       []string // levels that must not
	}{
		{"debug", "text", false, []string{"DEBUG", "INFO", "ERROR"}, nil},
		{"info", "json", false, []string{"INFO", "WARN"}, []string{"DEBUG"}},
		{"warn", "text", false, []string{"WARN", "ERROR"}, []string{"INFO"}},
		{"error", "json", false, []string{"ERROR"}, []string{"WARN"}},
		{"verbose", "text", true, nil, nil},
		{"info", "xml", true, nil, nil},
		{"", "", true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(tt.level, tt.format, &buf)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("New = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("m")
			log.Info("m")
			log.Warn("m")
			log.Error("m")
			out := buf.String()
			for _, l := range tt.logged {
				if !strings.Contains(out, l) {
					t.Errorf("%s not logged:\n%s", l, out)
				}
			}
			for _, l := range tt.dropped {
				if strings.Contains(out, l) {
					t.Errorf("%s logged:\n%s", l, out)
				}
			}
			if tt.format == "json" && !json.Valid(bytes.SplitN(buf.Bytes(), []byte("\n"), 2)[0]) {
				t.Errorf("not JSON: %s", out)
			}
		})
	}
}

func TestLoggingContextAttrs(t *testing.T) {
	var buf bytes.Buffer
	log, err := New("info", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	ctx := With(context.Background(), slog.String(KeyRoom, "r1"))
	inner := With(ctx, slog.String(KeyParticipant, "p1"))
	log.With("component", "portal").InfoContext(inner, "joined", "n", 1)
	log.InfoContext(ctx, "outer")
	log.Info("plain")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []map[string]any{
		{"component": "portal", "room": "r1", "participant": "p1", "n": 1.0},
		{"room": "r1"},
		{},
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		for k, v := range want[i] {
			if rec[k] != v {
				t.Errorf("line %d: %s = %v, want %v (%s)", i, k, rec[k], v, line)
			}
		}
		if i == 1 && rec["participant"] != nil {
			t.Errorf("inner attribute leaked to outer context: %s", line)
		}
		if i == 2 && rec["room"] != nil {
			t.Errorf("context attribute without context: %s", line)
		}
	}
	if len(Attrs(context.Background())) != 0 || With(ctx) != ctx {
		t.Fatal("empty With changed the context")
	}
}

func TestLoggingRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"short", "…"},
		{"elevenchars", "…"},
		{"0123456789abcdef", "0123…"},
		{"ключключключключ", "ключ…"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoggingLevels(t *testing.T) {
	for _, name := range LevelNames() {
		if _, err := ParseLevel(name); err != nil {
			t.Errorf("ParseLevel(%q): %v", name, err)
		}
	}
	Discard().Error("dropped") // must not panic
}
