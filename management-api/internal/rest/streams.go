package rest

import (
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// streams: GET list, GET/PATCH/DELETE one, in the v1.0 StreamInfo format; 404/1004.
func streams() liveKind {
	return liveKind{
		path:        "streams",
		notFound:    errs.StreamNotFound,
		list:        protocol.MethodStreamsList,
		get:         protocol.MethodStreamsGet,
		update:      protocol.MethodStreamsUpdate,
		remove:      protocol.MethodStreamsDelete,
		parseUpdate: validate.StreamOps,
	}
}

// streamingIns: POST (which starts a conference agent for a room that is not live) and
// DELETE; 404/1004.
func streamingIns() liveKind {
	return liveKind{
		path:      "streaming-ins",
		notFound:  errs.StreamNotFound,
		add:       protocol.MethodStreamingInsAdd,
		remove:    protocol.MethodStreamingInsDelete,
		parseAdd:  addParser(validate.StreamingIn),
		startIdle: true,
	}
}

// addParser adapts a body validator to liveKind.parseAdd.
func addParser[T any](parse func([]byte) (T, error)) func([]byte, string) (any, error) {
	return func(data []byte, roomID string) (any, error) {
		spec, err := parse(data)
		if err != nil {
			return nil, err
		}
		return protocol.AddRequest[T]{RoomID: roomID, Spec: spec}, nil
	}
}
