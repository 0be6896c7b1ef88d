package cluster

import "errors"

// Sentinel errors.
var (
	// ErrNoWorker: no live, available worker of the purpose matched before the deadline.
	ErrNoWorker = errors.New("cluster: no available worker")
	// ErrInvalidWorker: a Worker record lacks its id or purpose.
	ErrInvalidWorker = errors.New("cluster: invalid worker")
)
