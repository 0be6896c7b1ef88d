// Package layout places the input streams of an OWT mixed view into regions: it builds the
// view's templates (fluid, lecture, void plus custom ones), picks the template for the number
// of inputs, keeps streams in their regions across joins and leaves, follows the active
// speaker (keepActiveInputPrimary), applies explicit layouts and region moves, and converts
// the fractional regions to pixel rectangles for composition.
package layout

import (
	"fmt"
	"math"
	"slices"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// Engine is the layout state of one view. It is not safe for concurrent use: the mix session
// that owns it serialises calls.
type Engine struct {
	maxInput   int
	keepActive bool
	templates  []template // sorted by region count, one per count

	cur      template // the layout in effect
	explicit bool     // cur was set by SetLayout and is kept while the inputs fit
	slots    []string // stream shown in each region of cur ("" = empty)
	inputs   []string // the input streams in arrival order (shown or not)
	active   string   // the last active input reported by SetActive
}

// Placement is where one stream is drawn.
type Placement struct {
	Stream string
	Region string
	Rect   yuv.Rect
}

// New returns the engine of a view's video settings with no inputs. It checks maxInput
// (1…256), the base template name and the custom templates; errors wrap ErrInvalidView and name
// the offending field.
func New(v room.ViewVideo) (*Engine, error) {
	if v.MaxInput < 1 || v.MaxInput > room.MaxRegions {
		return nil, fmt.Errorf("%w: maxInput must be between 1 and %d, not %d", ErrInvalidView, room.MaxRegions, v.MaxInput)
	}
	ts, err := templateSet(v.Layout.Templates.Base, v.Layout.Templates.Custom, v.MaxInput)
	if err != nil {
		return nil, err
	}
	e := &Engine{maxInput: v.MaxInput, keepActive: v.KeepActiveInputPrimary, templates: ts}
	e.use(e.pick(0), nil)
	return e, nil
}

// pick returns the template with the fewest regions that shows n inputs, or the largest one.
func (e *Engine) pick(n int) template {
	for _, t := range e.templates {
		if len(t.regions) >= n {
			return t
		}
	}
	return e.templates[len(e.templates)-1]
}

// use makes t the current layout with streams filling its regions in order.
func (e *Engine) use(t template, streams []string) {
	e.cur = t
	e.slots = make([]string, len(t.regions))
	copy(e.slots, streams)
}

// SetInputs replaces the input set; streams is in arrival order (duplicates and empty ids are
// ignored). Inputs beyond maxInput are not shown. While the layout does not change, streams
// keep their regions, a leaving stream frees its region and new streams fill free regions in
// order; when the number of shown inputs needs another template, the streams shown before keep
// their relative order, followed by the new ones. An explicit layout stays while the inputs
// fit in it. It returns the new layout.
func (e *Engine) SetInputs(streams []string) []protocol.LayoutRegion {
	e.inputs = e.inputs[:0]
	for _, s := range streams {
		if s != "" && !slices.Contains(e.inputs, s) {
			e.inputs = append(e.inputs, s)
		}
	}
	var kept []string
	for i, s := range e.slots {
		if s != "" && !slices.Contains(e.inputs, s) {
			e.slots[i] = ""
		} else if s != "" {
			kept = append(kept, s)
		}
	}
	if !slices.Contains(e.inputs, e.active) {
		e.active = ""
	}
	n := min(len(e.inputs), e.maxInput)
	switch {
	case e.explicit && n <= len(e.slots):
		e.fillFree(n - len(kept))
	case !e.explicit && len(e.pick(n).regions) == len(e.slots):
		e.fillFree(n - len(kept))
	default:
		e.explicit = false
		shown := append(kept, e.hidden()...)
		e.use(e.pick(n), shown[:n])
	}
	e.followActive()
	return e.Layout()
}

// hidden returns the inputs not shown, in arrival order.
func (e *Engine) hidden() []string {
	var out []string
	for _, s := range e.inputs {
		if !slices.Contains(e.slots, s) {
			out = append(out, s)
		}
	}
	return out
}

// fillFree puts up to count hidden inputs, in arrival order, into the free regions in order.
func (e *Engine) fillFree(count int) {
	waiting := e.hidden()
	for i := range e.slots {
		if count <= 0 || len(waiting) == 0 {
			return
		}
		if e.slots[i] == "" {
			e.slots[i], waiting = waiting[0], waiting[1:]
			count--
		}
	}
}

// SetActive records the view's active (loudest) input. With keepActiveInputPrimary it moves
// that stream into the primary region (the template's primary, else the first region),
// swapping with the stream there, or replacing it when the active stream was not shown. It
// reports whether the layout changed; unknown streams are ignored.
func (e *Engine) SetActive(stream string) (changed bool) {
	if stream == "" || !slices.Contains(e.inputs, stream) {
		return false
	}
	e.active = stream
	return e.followActive()
}

// followActive moves the active stream into the primary region when the view asks for it.
func (e *Engine) followActive() bool {
	if !e.keepActive || e.active == "" || e.slots[e.cur.primary] == e.active {
		return false
	}
	return e.place(e.active, e.cur.primary)
}

// place puts stream into region i; the stream there takes stream's old region, if any.
func (e *Engine) place(stream string, i int) bool {
	j := slices.Index(e.slots, stream)
	if j < 0 && e.slots[i] == "" && e.shown() >= e.maxInput {
		return false // showing one more stream would exceed maxInput
	}
	if j >= 0 {
		e.slots[j] = e.slots[i]
	}
	e.slots[i] = stream
	return true
}

// shown is the number of streams in the current layout.
func (e *Engine) shown() int {
	n := 0
	for _, s := range e.slots {
		if s != "" {
			n++
		}
	}
	return n
}

// SetRegion puts an input stream into the region with id regionID of the current layout; the
// stream there takes the moved stream's old region (or stops being shown if the moved stream
// was not shown). Errors wrap ErrUnknownStream or ErrUnknownRegion, or ErrInvalidLayout when
// a stream not shown would go into an empty region of a view already showing maxInput streams.
func (e *Engine) SetRegion(stream, regionID string) error {
	if !slices.Contains(e.inputs, stream) {
		return fmt.Errorf("%w: %q is not an input of the view", ErrUnknownStream, stream)
	}
	i := slices.IndexFunc(e.cur.regions, func(r region) bool { return r.ID == regionID })
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrUnknownRegion, regionID)
	}
	if !e.place(stream, i) {
		return fmt.Errorf("%w: the view already shows maxInput (%d) streams", ErrInvalidLayout, e.maxInput)
	}
	return nil
}

// SetLayout replaces the layout by an explicit one (OWT PATCH /info/layout): region ids must be
// unique and valid, areas fractions in [0, 1], streams inputs of the view or empty, each at
// most once and at most maxInput of them. The first region is the primary. Errors wrap
// ErrInvalidLayout (and ErrUnknownStream for a stream that is not an input) and leave the
// layout unchanged.
func (e *Engine) SetLayout(l []protocol.LayoutRegion) error {
	if len(l) == 0 || len(l) > room.MaxRegions {
		return fmt.Errorf("%w: must have 1 to %d regions, not %d", ErrInvalidLayout, room.MaxRegions, len(l))
	}
	t := template{regions: make([]region, len(l))}
	slots := make([]string, len(l))
	ids := make(map[string]bool, len(l))
	shown := 0
	for i, lr := range l {
		reg, err := parseRegion(lr.Region)
		if err != nil {
			return fmt.Errorf("%w: [%d].region%v", ErrInvalidLayout, i, err)
		}
		if ids[lr.Region.ID] {
			return fmt.Errorf("%w: [%d].region.id %q is used twice", ErrInvalidLayout, i, lr.Region.ID)
		}
		ids[lr.Region.ID] = true
		if lr.Stream != "" {
			if !slices.Contains(e.inputs, lr.Stream) {
				return fmt.Errorf("%w: %w: [%d].stream %q is not an input of the view", ErrInvalidLayout, ErrUnknownStream, i, lr.Stream)
			}
			if slices.Contains(slots[:i], lr.Stream) {
				return fmt.Errorf("%w: [%d].stream %q is placed twice", ErrInvalidLayout, i, lr.Stream)
			}
			shown++
		}
		t.regions[i], slots[i] = reg, lr.Stream
	}
	if shown > e.maxInput {
		return fmt.Errorf("%w: places %d streams, more than maxInput %d", ErrInvalidLayout, shown, e.maxInput)
	}
	e.cur, e.slots, e.explicit = t, slots, true
	return nil
}

// Layout returns the current OWT layout: every region in order with its stream ("" = empty).
func (e *Engine) Layout() []protocol.LayoutRegion {
	out := make([]protocol.LayoutRegion, len(e.slots))
	for i, s := range e.slots {
		out[i] = protocol.LayoutRegion{Stream: s, Region: e.cur.regions[i].Region}
	}
	return out
}

// Placements returns the pixel rectangles of the shown streams in a width×height picture, in
// drawing order (later ones on top). Region edges are rounded to even pixels so that chroma
// lines up and neighbouring regions share their edge; parts outside the picture are clipped.
func (e *Engine) Placements(width, height int) []Placement {
	if width <= 0 || height <= 0 {
		return nil
	}
	bounds := yuv.Rect{W: width, H: height}
	var out []Placement
	for i, s := range e.slots {
		if s == "" {
			continue
		}
		r := e.cur.regions[i]
		x0, x1 := evenPixel(r.left, width), evenPixel(r.left+r.width, width)
		y0, y1 := evenPixel(r.top, height), evenPixel(r.top+r.height, height)
		rect := yuv.Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}.Intersect(bounds)
		if !rect.Empty() {
			out = append(out, Placement{Stream: s, Region: r.ID, Rect: rect})
		}
	}
	return out
}

// evenPixel returns f·size rounded to the nearest even pixel (halves round up; a tiny bias
// absorbs float error in values such as 1/3·600).
func evenPixel(f float64, size int) int {
	return 2 * int(math.Floor(f*float64(size)/2+0.5+1e-9))
}
