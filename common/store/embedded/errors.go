package embedded

import "errors"

// ErrInvalidConfig: a room config is not a JSON object.
var ErrInvalidConfig = errors.New("embedded store: room config must be a JSON object")
