package rest

import (
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// subscriptionOps validates the PATCH body of a server-side subscription whose media paths
// start with prefix.
func subscriptionOps(prefix string) func([]byte) ([]protocol.PatchOp, error) {
	return func(data []byte) ([]protocol.PatchOp, error) { return validate.SubscriptionOps(data, prefix) }
}

// streamingOuts: GET list, POST, PATCH, DELETE; 404/1004.
func streamingOuts() liveKind {
	return liveKind{
		path:        "streaming-outs",
		notFound:    errs.StreamNotFound,
		list:        protocol.MethodStreamingOutsList,
		add:         protocol.MethodStreamingOutsAdd,
		update:      protocol.MethodStreamingOutsUpdate,
		remove:      protocol.MethodStreamingOutsDelete,
		parseUpdate: subscriptionOps("/media"),
		parseAdd:    addParser(validate.StreamingOut),
	}
}

// recordings: GET list, POST, PATCH, DELETE; 404/1004.
func recordings() liveKind {
	return liveKind{
		path:        "recordings",
		notFound:    errs.StreamNotFound,
		list:        protocol.MethodRecordingsList,
		add:         protocol.MethodRecordingsAdd,
		update:      protocol.MethodRecordingsUpdate,
		remove:      protocol.MethodRecordingsDelete,
		parseUpdate: subscriptionOps("/media"),
		parseAdd:    addParser(validate.Recording),
	}
}

// sipCalls: GET list, POST (dial-out), PATCH (paths /output/media/…), DELETE; 404/1001.
func sipCalls() liveKind {
	return liveKind{
		path:        "sipcalls",
		notFound:    errs.SipCallNotFound,
		list:        protocol.MethodSipCallsList,
		add:         protocol.MethodSipCallsAdd,
		update:      protocol.MethodSipCallsUpdate,
		remove:      protocol.MethodSipCallsDelete,
		parseUpdate: subscriptionOps("/output/media"),
		parseAdd:    addParser(validate.SipCall),
	}
}

// analytics: GET list, POST, DELETE; 404/1001.
func analytics() liveKind {
	return liveKind{
		path:     "analytics",
		notFound: errs.AnalyticsNotFound,
		list:     protocol.MethodAnalyticsList,
		add:      protocol.MethodAnalyticsAdd,
		remove:   protocol.MethodAnalyticsDelete,
		parseAdd: addParser(validate.Analytics),
	}
}
