package layout

import "errors"

// Errors of the engine; the mixing agent maps them to OWT error messages. Returned errors wrap
// one of these with details (match with errors.Is).
var (
	// ErrInvalidView reports a view configuration New cannot lay out.
	ErrInvalidView = errors.New("layout: invalid view")
	// ErrUnknownStream reports a stream that is not an input of the view.
	ErrUnknownStream = errors.New("layout: unknown stream")
	// ErrUnknownRegion reports a region id absent from the current layout.
	ErrUnknownRegion = errors.New("layout: unknown region")
	// ErrInvalidLayout reports an explicit layout that breaks a rule (ids, areas, streams).
	ErrInvalidLayout = errors.New("layout: invalid layout")
)
