package e2eutil

import (
	"testing"
	"time"
)

func TestParseFrameList(t *testing.T) {
	r, err := ParseFrameList("0.000000,320,240\n0.050000,320,240\n1.000000,640,480\n")
	if err != nil || r.Frames != 3 || r.Span != time.Second || r.Width != 640 || r.Height != 480 || r.FPS() != 2 {
		t.Fatalf("%+v, %v (fps %v)", r, err, r.FPS())
	}
	if _, err := ParseFrameList("0.1,abc,2"); err == nil {
		t.Fatal("bad size accepted")
	}
	if r, _ := ParseFrameList(""); r.FPS() != 0 {
		t.Fatal("fps of nothing")
	}
}

func TestPicturesStill(t *testing.T) {
	grey := func(v byte) []byte {
		b := make([]byte, 4*4)
		for i := range b {
			b[i] = v
		}
		return b
	}
	// Left half changes after the first two pictures, right half never; then the left half
	// freezes for one interval.
	frames := [][]byte{grey(0), grey(0), grey(0), grey(0), grey(0)}
	for i, v := range []byte{10, 10, 50, 90, 90} {
		f := append([]byte(nil), frames[i]...)
		for y := range 4 {
			f[y*4], f[y*4+1] = v, v
		}
		frames[i] = f
	}
	p := Pictures{W: 4, H: 4, Every: time.Second, Frames: frames}
	left, right := Rect{0, 0, 0.5, 1}, Rect{0.5, 0, 0.5, 1}
	if d := p.Difference(1, 2, left); d != 40 {
		t.Fatalf("difference %v", d)
	}
	if startup, still := p.StillAfterStart(left, 0.5, 3); startup != 1 || still != 1 {
		t.Fatalf("left: startup %d still %d", startup, still)
	}
	if startup, still := p.StillAfterStart(right, 0.5, 3); startup != 3 || still != 1 {
		t.Fatalf("right: startup %d still %d (a region that never changes is still after the allowance)", startup, still)
	}
	if p.Still(left, 0.5) != 2 {
		t.Fatalf("Still counts the start: %d", p.Still(left, 0.5))
	}
}

func TestLayoutEntryRect(t *testing.T) {
	var e LayoutEntry
	e.Region.Area.Left, e.Region.Area.Top, e.Region.Area.Width, e.Region.Area.Height = "1/3", "0", "2/3", "1"
	r, err := e.Rect()
	if err != nil || r.Left != 1.0/3 || r.Width != 2.0/3 || r.Height != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	e.Region.Area.Top = "1/0"
	if _, err := e.Rect(); err == nil {
		t.Fatal("division by zero accepted")
	}
}
