package devtokens

import "errors"

// Sentinel errors of package devtokens.
var (
	// ErrConfig reports an unusable Config.
	ErrConfig = errors.New("devtokens: invalid configuration")
	// ErrAPI reports a management API answer other than the expected success.
	ErrAPI = errors.New("devtokens: management API error")
)
