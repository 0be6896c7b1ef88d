package layout

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/conclave-rtc/conclave/common/room"
)

// Base template names (OWT view.video.layout.templates.base).
const (
	BaseFluid   = "fluid"
	BaseLecture = "lecture"
	BaseVoid    = "void"
)

// template is a layout for up to len(regions) inputs; regions are filled in order and drawn in
// order (later ones on top).
type template struct {
	primary int // index of the primary region (keepActiveInputPrimary)
	regions []region
}

// region is a room.Region with its area parsed.
type region struct {
	room.Region
	left, top, width, height float64
}

// templateSet returns the templates of a view, sorted by region count with one template per
// count: the base templates up to maxInput, with custom templates replacing base ones of the
// same size (a later custom template replaces an earlier one of the same size, as in OWT's
// merge).
func templateSet(base string, custom []room.CustomTemplate, maxInput int) ([]template, error) {
	byCount := map[int]template{}
	switch base {
	case BaseFluid, "":
		for _, t := range fluidTemplates(maxInput) {
			byCount[len(t.regions)] = t
		}
	case BaseLecture:
		for _, t := range lectureTemplates(maxInput) {
			byCount[len(t.regions)] = t
		}
	case BaseVoid:
	default:
		return nil, fmt.Errorf("%w: layout.templates.base must be fluid, lecture or void, not %q", ErrInvalidView, base)
	}
	for i, c := range custom {
		t, err := customTemplate(c)
		if err != nil {
			return nil, fmt.Errorf("%w: layout.templates.custom[%d]%v", ErrInvalidView, i, err)
		}
		byCount[len(t.regions)] = t
	}
	if len(byCount) == 0 {
		return nil, fmt.Errorf("%w: layout.templates: base %q needs at least one custom template", ErrInvalidView, base)
	}
	out := make([]template, 0, len(byCount))
	for _, t := range byCount {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b template) int { return len(a.regions) - len(b.regions) })
	return out, nil
}

// customTemplate parses a custom template; errors start with the field path below it.
func customTemplate(c room.CustomTemplate) (template, error) {
	if len(c.Region) == 0 {
		return template{}, fmt.Errorf(".region: must not be empty")
	}
	if len(c.Region) > room.MaxRegions {
		return template{}, fmt.Errorf(".region: at most %d regions", room.MaxRegions)
	}
	t := template{primary: -1, regions: make([]region, len(c.Region))}
	seen := make(map[string]bool, len(c.Region))
	for i, r := range c.Region {
		reg, err := parseRegion(r)
		if err != nil {
			return template{}, fmt.Errorf(".region[%d]%v", i, err)
		}
		if seen[r.ID] {
			return template{}, fmt.Errorf(".region[%d].id: %q is used twice", i, r.ID)
		}
		seen[r.ID] = true
		t.regions[i] = reg
		if r.ID == c.Primary {
			t.primary = i
		}
	}
	switch {
	case c.Primary == "":
		t.primary = 0
	case t.primary < 0:
		return template{}, fmt.Errorf(".primary: %q is not a region id", c.Primary)
	}
	return t, nil
}

// parseRegion validates a region; errors start with the field path below it.
func parseRegion(r room.Region) (region, error) {
	if r.ID == "" || len(r.ID) > room.MaxNameLen {
		return region{}, fmt.Errorf(".id: must be 1 to %d characters", room.MaxNameLen)
	}
	if r.Shape != "" && r.Shape != room.ShapeRectangle {
		return region{}, fmt.Errorf(".shape: must be %q, not %q", room.ShapeRectangle, r.Shape)
	}
	r.Shape = room.ShapeRectangle
	reg := region{Region: r}
	for _, side := range []struct {
		name string
		f    room.Fraction
		dst  *float64
	}{{"left", r.Area.Left, &reg.left}, {"top", r.Area.Top, &reg.top}, {"width", r.Area.Width, &reg.width}, {"height", r.Area.Height, &reg.height}} {
		v, ok := side.f.Float()
		if !ok {
			return region{}, fmt.Errorf(".area.%s: must be a fraction in [0, 1] such as \"1/3\", not %q", side.name, side.f)
		}
		*side.dst = v
	}
	return reg, nil
}

// fluidTemplates returns OWT's fluid templates: for k = 1…ceil(sqrt(maxInput)) a k×k grid of
// equal cells, ids "1"…"k*k" in reading order, the first being the primary.
func fluidTemplates(maxInput int) []template {
	var out []template
	for k := 1; ; k++ {
		out = append(out, gridTemplate(k, 1))
		if k*k >= maxInput {
			return out
		}
	}
}

// lectureTemplates returns the lecture templates: one full region, then k×k grids of cells
// whose top-left p×p block is the primary region "1" and whose other cells, in reading order,
// are the small regions "2"…. The primary covers (k-1)/k for k = 3…7 (6, 8, 10, 12 and 14
// regions: a right column and a bottom row of small cells, OWT's 2/3 + five 1/3 layout first),
// then (k-2)/k for k = 5, 6, 7, … (17, 21, 25, 29, … regions: two columns and two rows of
// small cells), until a template holds maxInput inputs.
func lectureTemplates(maxInput int) []template {
	out := []template{gridTemplate(1, 1)}
	for k := 3; k <= 7 && len(out[len(out)-1].regions) < maxInput; k++ {
		out = append(out, gridTemplate(k, k-1))
	}
	for k := 5; len(out[len(out)-1].regions) < maxInput; k++ {
		out = append(out, gridTemplate(k, k-2))
	}
	return out
}

// gridTemplate returns a k×k grid whose top-left p×p cells merge into the primary region "1"
// (p = 1: a plain grid).
func gridTemplate(k, p int) template {
	t := template{regions: []region{gridRegion("1", 0, 0, p, k)}}
	for row := range k {
		for col := range k {
			if row < p && col < p {
				continue
			}
			t.regions = append(t.regions, gridRegion(strconv.Itoa(len(t.regions)+1), col, row, 1, k))
		}
	}
	return t
}

// gridRegion returns the region of size×size cells at (col, row) of a k×k grid.
func gridRegion(id string, col, row, size, k int) region {
	return region{
		Region: room.Region{ID: id, Shape: room.ShapeRectangle, Area: room.Area{
			Left: fraction(col, k), Top: fraction(row, k), Width: fraction(size, k), Height: fraction(size, k),
		}},
		left: float64(col) / float64(k), top: float64(row) / float64(k),
		width: float64(size) / float64(k), height: float64(size) / float64(k),
	}
}

// fraction writes n/d in lowest terms ("0", "1", "1/3").
func fraction(n, d int) room.Fraction {
	g := gcd(n, d)
	n, d = n/g, d/g
	if d == 1 {
		return room.Fraction(strconv.Itoa(n))
	}
	return room.Fraction(strconv.Itoa(n) + "/" + strconv.Itoa(d))
}

// gcd returns the greatest common divisor of a ≥ 0 and b > 0.
func gcd(a, b int) int {
	for a != 0 {
		a, b = b%a, a
	}
	return b
}
