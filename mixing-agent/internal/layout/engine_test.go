package layout

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// view returns the default view video with the given base and maxInput.
func view(base string, maxInput int) room.ViewVideo {
	v := *room.DefaultViewVideo()
	v.Layout.Templates.Base = base
	v.MaxInput = maxInput
	return v
}

// mustNew builds an engine or fails the test.
func mustNew(t testing.TB, v room.ViewVideo) *Engine {
	t.Helper()
	e, err := New(v)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// names returns n stream ids "s1"…"sn".
func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "s" + strconv.Itoa(i+1)
	}
	return out
}

// streams returns the stream of each region of l.
func streams(l []protocol.LayoutRegion) []string {
	out := make([]string, len(l))
	for i, r := range l {
		out[i] = r.Stream
	}
	return out
}

// padded returns s followed by empty strings up to n entries.
func padded(s []string, n int) []string {
	return append(slices.Clone(s), make([]string, n-len(s))...)
}

// area formats a region's area as "left,top,width,height".
func area(r room.Region) string {
	return fmt.Sprintf("%s,%s,%s,%s", r.Area.Left, r.Area.Top, r.Area.Width, r.Area.Height)
}

func TestLayoutFluid(t *testing.T) {
	for n := 1; n <= 16; n++ {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			e := mustNew(t, view(BaseFluid, 16))
			l := e.SetInputs(names(n))
			k := 1
			for k*k < n {
				k++
			}
			if got := streams(l); !slices.Equal(got, padded(names(n), k*k)) {
				t.Fatalf("streams = %q, want the inputs in order in a %dx%d grid", got, k, k)
			}
			for i, r := range l {
				want := fmt.Sprintf("%s,%s,%s,%s", fraction(i%k, k), fraction(i/k, k), fraction(1, k), fraction(1, k))
				if r.Region.ID != strconv.Itoa(i+1) || area(r.Region) != want || r.Region.Shape != room.ShapeRectangle {
					t.Fatalf("region %d = %+v, want id %d area %s", i, r.Region, i+1, want)
				}
			}
		})
	}
	e := mustNew(t, view(BaseFluid, 16))
	if l := e.SetInputs(nil); len(l) != 1 || l[0].Stream != "" || area(l[0].Region) != "0,0,1,1" {
		t.Fatalf("no inputs: layout %+v, want one empty full region", l)
	}
	if got := area(e.SetInputs(names(5))[4].Region); got != "1/3,1/3,1/3,1/3" {
		t.Fatalf("fluid 5: centre region area %s", got)
	}
}

func TestLayoutLecture(t *testing.T) {
	counts := map[int]int{1: 1, 2: 6, 6: 6, 7: 8, 8: 8, 9: 10, 11: 12, 13: 14, 14: 14, 15: 17, 16: 17}
	for n, want := range counts {
		e := mustNew(t, view(BaseLecture, 16))
		if l := e.SetInputs(names(n)); len(l) != want || !slices.Equal(streams(l), padded(names(n), want)) {
			t.Fatalf("lecture with %d inputs: %d regions %q, want %d regions", n, len(l), streams(l), want)
		}
	}
	e := mustNew(t, view(BaseLecture, 16))
	var got []string
	for _, r := range e.SetInputs(names(6)) {
		got = append(got, r.Region.ID+":"+area(r.Region))
	}
	want := []string{"1:0,0,2/3,2/3", "2:2/3,0,1/3,1/3", "3:2/3,1/3,1/3,1/3", "4:0,2/3,1/3,1/3", "5:1/3,2/3,1/3,1/3", "6:2/3,2/3,1/3,1/3"}
	if !slices.Equal(got, want) {
		t.Fatalf("lecture 6 regions = %q, want %q", got, want)
	}
	if l := e.SetInputs(names(7)); area(l[0].Region) != "0,0,3/4,3/4" || area(l[7].Region) != "3/4,3/4,1/4,1/4" {
		t.Fatalf("lecture 8: primary %s, last %s", area(l[0].Region), area(l[7].Region))
	}
	if l := e.SetInputs(names(16)); area(l[0].Region) != "0,0,3/5,3/5" {
		t.Fatalf("lecture 17: primary %s, want 3/5", area(l[0].Region))
	}
}

func TestLayoutTemplatesTile(t *testing.T) {
	// Every base template covers the picture exactly once, at several output sizes.
	for _, base := range []string{BaseFluid, BaseLecture} {
		e := mustNew(t, view(base, 64))
		for _, tpl := range e.templates {
			for _, size := range [][2]int{{640, 480}, {176, 144}, {641, 479}} {
				e.cur, e.slots = tpl, names(len(tpl.regions))
				covered := make([]int, size[0]*size[1])
				for _, p := range e.Placements(size[0], size[1]) {
					for y := p.Rect.Y; y < p.Rect.Y+p.Rect.H; y++ {
						for x := p.Rect.X; x < p.Rect.X+p.Rect.W; x++ {
							covered[y*size[0]+x]++
						}
					}
				}
				for i, c := range covered {
					if c != 1 {
						t.Fatalf("%s %d regions at %v: pixel %d,%d covered %d times", base, len(tpl.regions), size, i%size[0], i/size[0], c)
					}
				}
			}
		}
	}
}

func TestLayoutPlacements(t *testing.T) {
	e := mustNew(t, view(BaseFluid, 16))
	e.SetInputs(names(3))
	want := []Placement{
		{"s1", "1", yuv.Rect{X: 0, Y: 0, W: 320, H: 240}},
		{"s2", "2", yuv.Rect{X: 320, Y: 0, W: 320, H: 240}},
		{"s3", "3", yuv.Rect{X: 0, Y: 240, W: 320, H: 240}},
	}
	if got := e.Placements(640, 480); !slices.Equal(got, want) {
		t.Fatalf("Placements = %+v, want %+v", got, want)
	}
	e.SetInputs(names(5))
	got := e.Placements(640, 480)
	if got[1].Rect != (yuv.Rect{X: 214, Y: 0, W: 212, H: 160}) || got[4].Rect != (yuv.Rect{X: 214, Y: 160, W: 212, H: 160}) {
		t.Fatalf("3x3 placements %+v", got)
	}
	if p := e.Placements(0, 480); p != nil {
		t.Fatalf("Placements(0, 480) = %v, want nil", p)
	}
}

func TestLayoutVoidAndCustom(t *testing.T) {
	two := room.CustomTemplate{Region: []room.Region{
		{ID: "a", Area: room.Area{Left: "0", Top: "0", Width: "1/2", Height: "1"}},
		{ID: "b", Area: room.Area{Left: "1/2", Top: "0", Width: "1/2", Height: "1"}},
	}}
	three := room.CustomTemplate{Primary: "main", Region: []room.Region{
		{ID: "x", Area: room.Area{Left: "0", Top: "0", Width: "0.25", Height: "0.25"}},
		{ID: "main", Area: room.Area{Left: "0", Top: "0", Width: "1", Height: "1"}},
		{ID: "y", Area: room.Area{Left: "0.75", Top: "0.75", Width: "0.25", Height: "0.25"}},
	}}
	v := view(BaseVoid, 16)
	if _, err := New(v); !errors.Is(err, ErrInvalidView) {
		t.Fatalf("void without custom templates: %v, want ErrInvalidView", err)
	}
	v.Layout.Templates.Custom = []room.CustomTemplate{three, two}
	v.KeepActiveInputPrimary = true
	e := mustNew(t, v)
	tests := []struct {
		n   int
		ids []string
	}{{0, []string{"a", "b"}}, {1, []string{"a", "b"}}, {2, []string{"a", "b"}}, {3, []string{"x", "main", "y"}}, {5, []string{"x", "main", "y"}}}
	for _, tt := range tests {
		l := e.SetInputs(names(tt.n))
		var ids []string
		for _, r := range l {
			ids = append(ids, r.Region.ID)
		}
		if !slices.Equal(ids, tt.ids) || !slices.Equal(streams(l), padded(names(min(tt.n, 3)), len(tt.ids))) {
			t.Fatalf("void with %d inputs: regions %q streams %q", tt.n, ids, streams(l))
		}
	}
	// The custom primary receives the active speaker; the largest template shows 3 of 5.
	if !e.SetActive("s1") || !slices.Equal(streams(e.Layout()), []string{"s2", "s1", "s3"}) {
		t.Fatalf("active s1 with primary \"main\": %q", streams(e.Layout()))
	}
	// Merging: a custom 4-region template replaces fluid's 2x2.
	v = view(BaseFluid, 16)
	v.Layout.Templates.Custom = []room.CustomTemplate{{Region: append(slices.Clone(two.Region),
		room.Region{ID: "c", Area: room.Area{Left: "0", Top: "0", Width: "0.1", Height: "0.1"}},
		room.Region{ID: "d", Area: room.Area{Left: "0.9", Top: "0.9", Width: "0.1", Height: "0.1"}})}}
	e = mustNew(t, v)
	if l := e.SetInputs(names(3)); l[2].Region.ID != "c" || len(l) != 4 {
		t.Fatalf("fluid + custom 4: %+v", l)
	}
	if l := e.SetInputs(names(5)); len(l) != 9 || l[0].Region.ID != "1" {
		t.Fatalf("fluid + custom, 5 inputs: %d regions", len(l))
	}
}

func TestLayoutNewErrors(t *testing.T) {
	good := room.Region{ID: "r", Area: room.Area{Left: "0", Top: "0", Width: "1", Height: "1"}}
	withCustom := func(c ...room.CustomTemplate) room.ViewVideo {
		v := view(BaseFluid, 4)
		v.Layout.Templates.Custom = c
		return v
	}
	badArea := good
	badArea.Area.Width = "3/2"
	badShape := good
	badShape.Shape = "circle"
	tests := []struct {
		name string
		v    room.ViewVideo
		want string
	}{
		{"maxInput 0", view(BaseFluid, 0), "maxInput"},
		{"maxInput 257", view(BaseFluid, 257), "maxInput"},
		{"base", view("grid", 4), "layout.templates.base"},
		{"empty custom", withCustom(room.CustomTemplate{}), "custom[0].region: must not be empty"},
		{"area", withCustom(room.CustomTemplate{Region: []room.Region{good, badArea}}), "custom[0].region[1].area.width"},
		{"shape", withCustom(room.CustomTemplate{Region: []room.Region{badShape}}), "custom[0].region[0].shape"},
		{"duplicate id", withCustom(room.CustomTemplate{Region: []room.Region{good, good}}), "custom[0].region[1].id"},
		{"empty id", withCustom(room.CustomTemplate{Region: []room.Region{{Area: good.Area}}}), "custom[0].region[0].id"},
		{"primary", withCustom(room.CustomTemplate{Primary: "zz", Region: []room.Region{good}}), "custom[0].primary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.v)
			if !errors.Is(err, ErrInvalidView) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want ErrInvalidView naming %q", err, tt.want)
			}
		})
	}
}
