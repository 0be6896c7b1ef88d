package layout

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
)

func TestLayoutJoinLeaveOrdering(t *testing.T) {
	e := mustNew(t, view(BaseFluid, 16))
	steps := []struct {
		name   string
		inputs []string
		want   []string
	}{
		{"four", []string{"a", "b", "c", "d"}, []string{"a", "b", "c", "d"}},
		{"b leaves: its region is freed", []string{"a", "c", "d"}, []string{"a", "", "c", "d"}},
		{"e joins the free region", []string{"a", "c", "d", "e"}, []string{"a", "e", "c", "d"}},
		{"f grows the grid, order kept", []string{"a", "c", "d", "e", "f"}, []string{"a", "e", "c", "d", "f", "", "", "", ""}},
		{"c leaves, grid shrinks", []string{"a", "d", "e", "f"}, []string{"a", "e", "d", "f"}},
		{"duplicates and empty ids ignored", []string{"a", "d", "", "e", "f", "a"}, []string{"a", "e", "d", "f"}},
		{"all leave", nil, []string{""}},
	}
	for _, s := range steps {
		if got := streams(e.SetInputs(s.inputs)); !slices.Equal(got, s.want) {
			t.Fatalf("%s: layout %q, want %q", s.name, got, s.want)
		}
	}
}

func TestLayoutMaxInputCap(t *testing.T) {
	e := mustNew(t, view(BaseFluid, 4))
	if got := streams(e.SetInputs(names(6))); !slices.Equal(got, names(4)) {
		t.Fatalf("6 inputs, maxInput 4: %q", got)
	}
	// s2 leaves: the first hidden input takes its region.
	if got := streams(e.SetInputs([]string{"s1", "s3", "s4", "s5", "s6"})); !slices.Equal(got, []string{"s1", "s5", "s3", "s4"}) {
		t.Fatalf("after s2 left: %q", got)
	}
	if err := e.SetRegion("s6", "1"); err != nil {
		t.Fatal(err)
	}
	if got := streams(e.Layout()); !slices.Equal(got, []string{"s6", "s5", "s3", "s4"}) {
		t.Fatalf("hidden s6 set into region 1: %q", got)
	}
}

func TestLayoutKeepActiveInputPrimary(t *testing.T) {
	v := view(BaseLecture, 4)
	v.KeepActiveInputPrimary = true
	e := mustNew(t, v)
	e.SetInputs([]string{"a", "b", "c"})
	steps := []struct {
		active  string
		changed bool
		want    []string
	}{
		{"c", true, []string{"c", "b", "a", "", "", ""}},
		{"c", false, []string{"c", "b", "a", "", "", ""}},
		{"b", true, []string{"b", "c", "a", "", "", ""}},
		{"zz", false, []string{"b", "c", "a", "", "", ""}},
		{"", false, []string{"b", "c", "a", "", "", ""}},
	}
	for _, s := range steps {
		if changed := e.SetActive(s.active); changed != s.changed || !slices.Equal(streams(e.Layout()), s.want) {
			t.Fatalf("SetActive(%q) = %v, layout %q; want %v, %q", s.active, changed, streams(e.Layout()), s.changed, s.want)
		}
	}
	// A re-layout keeps the active stream primary; when it leaves, nobody is forced there.
	if got := streams(e.SetInputs([]string{"a", "b", "c", "d", "e", "f", "g"})); got[0] != "b" {
		t.Fatalf("after growing, primary = %q, want the active b", got[0])
	}
	if got := streams(e.SetInputs([]string{"a", "c"})); slices.Contains(got, "b") {
		t.Fatalf("b left but is still shown: %q", got)
	}
	// A hidden active stream (beyond maxInput) replaces the primary occupant.
	e.SetInputs(names(5))
	if !e.SetActive("s5") || streams(e.Layout())[0] != "s5" || slices.Contains(streams(e.Layout()), "s1") {
		t.Fatalf("hidden active s5: %q", streams(e.Layout()))
	}
	// Without keepActiveInputPrimary the layout never follows the speaker.
	e = mustNew(t, view(BaseFluid, 4))
	e.SetInputs([]string{"a", "b"})
	if e.SetActive("b") || !slices.Equal(streams(e.Layout()), []string{"a", "b", "", ""}) {
		t.Fatalf("keepActiveInputPrimary off: layout %q", streams(e.Layout()))
	}
}

func TestLayoutSetRegion(t *testing.T) {
	e := mustNew(t, view(BaseFluid, 9))
	e.SetInputs([]string{"a", "b", "c"})
	if err := e.SetRegion("c", "1"); err != nil {
		t.Fatal(err)
	}
	if got := streams(e.Layout()); !slices.Equal(got, []string{"c", "b", "a", ""}) {
		t.Fatalf("swap c into 1: %q", got)
	}
	if err := e.SetRegion("b", "4"); err != nil {
		t.Fatal(err)
	}
	if got := streams(e.Layout()); !slices.Equal(got, []string{"c", "", "a", "b"}) {
		t.Fatalf("move b into empty 4: %q", got)
	}
	if err := e.SetRegion("zz", "1"); !errors.Is(err, ErrUnknownStream) {
		t.Fatalf("unknown stream: %v", err)
	}
	if err := e.SetRegion("a", "9"); !errors.Is(err, ErrUnknownRegion) {
		t.Fatalf("unknown region: %v", err)
	}
}

// lr returns a LayoutRegion with the given id, area and stream.
func lr(id, stream string, l, t, w, h room.Fraction) protocol.LayoutRegion {
	return protocol.LayoutRegion{Stream: stream, Region: room.Region{ID: id, Shape: room.ShapeRectangle,
		Area: room.Area{Left: l, Top: t, Width: w, Height: h}}}
}

func TestLayoutSetLayout(t *testing.T) {
	e := mustNew(t, view(BaseFluid, 3))
	e.SetInputs([]string{"a", "b", "c"})
	before := e.Layout()
	full := func(id, s string) protocol.LayoutRegion { return lr(id, s, "0", "0", "1", "1") }
	noShape := full("x", "a")
	noShape.Region.Shape = ""
	tests := []struct {
		name   string
		layout []protocol.LayoutRegion
		want   error
	}{
		{"empty", nil, ErrInvalidLayout},
		{"duplicate id", []protocol.LayoutRegion{full("1", "a"), full("1", "b")}, ErrInvalidLayout},
		{"empty id", []protocol.LayoutRegion{full("", "a")}, ErrInvalidLayout},
		{"area above 1", []protocol.LayoutRegion{lr("1", "a", "0", "0", "4/3", "1")}, ErrInvalidLayout},
		{"negative area", []protocol.LayoutRegion{lr("1", "a", "-1/2", "0", "1", "1")}, ErrInvalidLayout},
		{"not a fraction", []protocol.LayoutRegion{lr("1", "a", "0", "zero", "1", "1")}, ErrInvalidLayout},
		{"missing area", []protocol.LayoutRegion{lr("1", "a", "0", "0", "", "1")}, ErrInvalidLayout},
		{"bad shape", []protocol.LayoutRegion{{Stream: "a", Region: room.Region{ID: "1", Shape: "circle", Area: full("", "").Region.Area}}}, ErrInvalidLayout},
		{"unknown stream", []protocol.LayoutRegion{full("1", "zz")}, ErrUnknownStream},
		{"stream twice", []protocol.LayoutRegion{full("1", "a"), full("2", "a")}, ErrInvalidLayout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.SetLayout(tt.layout); !errors.Is(err, tt.want) || !errors.Is(err, ErrInvalidLayout) {
				t.Fatalf("SetLayout = %v, want %v", err, tt.want)
			}
			if got := e.Layout(); !slices.Equal(got, before) {
				t.Fatalf("failed SetLayout changed the layout to %+v", got)
			}
		})
	}
	// More streams than maxInput.
	e4 := mustNew(t, view(BaseFluid, 1))
	e4.SetInputs([]string{"a", "b"})
	if err := e4.SetLayout([]protocol.LayoutRegion{full("1", "a"), full("2", "b")}); !errors.Is(err, ErrInvalidLayout) {
		t.Fatalf("2 streams with maxInput 1: %v", err)
	}

	// A valid explicit layout holds while the inputs fit, then templates return.
	explicit := []protocol.LayoutRegion{noShape, lr("pip", "", "3/4", "3/4", "1/4", "1/4"), lr("side", "c", "0.5", "0", "0.5", "0.5")}
	if err := e.SetLayout(explicit); err != nil {
		t.Fatal(err)
	}
	if got := e.Layout(); got[0].Region.Shape != room.ShapeRectangle || !slices.Equal(streams(got), []string{"a", "", "c"}) {
		t.Fatalf("explicit layout: %+v", got)
	}
	if got := streams(e.SetInputs([]string{"a", "c", "d"})); !slices.Equal(got, []string{"a", "d", "c"}) {
		t.Fatalf("d joins the explicit layout: %q", got)
	}
	if got := streams(e.SetInputs([]string{"a", "c"})); !slices.Equal(got, []string{"a", "", "c"}) || e.Layout()[1].Region.ID != "pip" {
		t.Fatalf("d leaves the explicit layout: %q", got)
	}
	e.SetActive("c") // keepActiveInputPrimary is off: no move
	if p := e.Placements(640, 480); len(p) != 2 || p[1].Region != "side" || p[1].Rect.X != 320 || p[1].Rect.W != 320 || p[1].Rect.H != 240 {
		t.Fatalf("explicit placements %+v", p)
	}
}

func TestLayoutExplicitOverflowFallsBack(t *testing.T) {
	e := mustNew(t, view(BaseFluid, 16))
	e.SetInputs([]string{"a", "b"})
	if err := e.SetLayout([]protocol.LayoutRegion{lr("only", "b", "0", "0", "1", "1")}); err != nil {
		t.Fatal(err)
	}
	if got := streams(e.SetInputs([]string{"a", "b", "c"})); !slices.Equal(got, []string{"b", "a", "c", ""}) {
		t.Fatalf("overflowing the explicit layout: %q, want the shown b first, then a and c", got)
	}
}

// checkInvariants fails when a stream is shown twice, a shown stream is not an input or more
// than maxInput streams are shown.
func checkInvariants(t *testing.T, e *Engine) {
	t.Helper()
	shown := 0
	seen := map[string]bool{}
	for _, s := range streams(e.Layout()) {
		if s == "" {
			continue
		}
		if seen[s] || !slices.Contains(e.inputs, s) {
			t.Fatalf("layout %q: %q duplicated or not an input of %q", streams(e.Layout()), s, e.inputs)
		}
		seen[s] = true
		shown++
	}
	if shown > e.maxInput {
		t.Fatalf("%d streams shown, maxInput %d", shown, e.maxInput)
	}
	for _, p := range e.Placements(641, 479) {
		if p.Rect.X < 0 || p.Rect.Y < 0 || p.Rect.X+p.Rect.W > 641 || p.Rect.Y+p.Rect.H > 479 || p.Rect.Empty() {
			t.Fatalf("placement %+v outside 641x479", p)
		}
	}
}

func FuzzLayoutSetLayout(f *testing.F) {
	f.Add([]byte(`[{"stream":"a","region":{"id":"1","area":{"left":"0","top":"0","width":"1/2","height":"1"}}},{"region":{"id":"2","area":{"left":"1/2","top":0,"width":"0.5","height":"1"}}}]`), "b", "2")
	f.Add([]byte(`[{"stream":"x","region":{"id":"1","shape":"circle","area":{"left":"1/0","top":"9","width":"-1","height":""}}}]`), "a", "1")
	f.Fuzz(func(t *testing.T, data []byte, stream, regionID string) {
		var l []protocol.LayoutRegion
		if json.Unmarshal(data, &l) != nil {
			return
		}
		e := mustNew(t, view(BaseFluid, 3))
		e.SetInputs([]string{"a", "b", "c", "d"})
		before := e.Layout()
		if err := e.SetLayout(l); err != nil {
			if !errors.Is(err, ErrInvalidLayout) || !slices.Equal(e.Layout(), before) {
				t.Fatalf("SetLayout error %v changed the layout or is not ErrInvalidLayout", err)
			}
		} else if got := e.Layout(); len(got) != len(l) {
			t.Fatalf("accepted %d regions, layout has %d", len(l), len(got))
		}
		checkInvariants(t, e)
		_ = e.SetRegion(stream, regionID)
		checkInvariants(t, e)
		e.SetActive(stream)
		e.SetInputs([]string{"d", stream, "a", "e"})
		checkInvariants(t, e)
	})
}
