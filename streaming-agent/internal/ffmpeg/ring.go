package ffmpeg

import (
	"bytes"
	"sync"
)

// maxLineLen bounds one kept line so a runaway line cannot grow the ring.
const maxLineLen = 512

// Ring keeps the last n lines written to it. It is safe for concurrent use.
type Ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

// NewRing returns a ring of n (at least 1) lines.
func NewRing(n int) *Ring {
	if n < 1 {
		n = 1
	}
	return &Ring{lines: make([]string, n)}
}

// Add appends one line, truncated to maxLineLen bytes.
func (r *Ring) Add(line string) {
	if len(line) > maxLineLen {
		line = line[:maxLineLen]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
}

// Lines returns the kept lines, oldest first.
func (r *Ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	out := make([]string, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}

// Last returns the newest line, or "".
func (r *Ring) Last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full && r.next == 0 {
		return ""
	}
	return r.lines[(r.next+len(r.lines)-1)%len(r.lines)]
}

// limitedBuffer keeps the tail (4 KiB) of what a short-lived command writes to stderr.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

// Write implements io.Writer.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 4096 {
		b.buf = b.buf[len(b.buf)-4096:]
	}
	return len(p), nil
}

// last returns the last non-empty line.
func (b *limitedBuffer) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(b.buf), []byte("\n"))
	return string(bytes.TrimSpace(lines[len(lines)-1]))
}
