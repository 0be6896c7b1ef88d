package media

import "errors"

// Sentinel errors of the media package.
var (
	// ErrBadClip reports a clip the readers cannot use.
	ErrBadClip = errors.New("media: unusable clip")
	// ErrUnsupportedCodec reports a codec the package has no reader or depacketizer for.
	ErrUnsupportedCodec = errors.New("media: unsupported codec")
)
