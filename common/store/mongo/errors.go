package mongo

import "errors"

// ErrInvalidConfig: a room config is not a JSON object, or uses a field name starting with "$"
// (MongoDB extended JSON would reinterpret such objects, e.g. {"$numberLong": "5"} as 5).
var ErrInvalidConfig = errors.New("mongo store: invalid room config")
