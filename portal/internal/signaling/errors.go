package signaling

import "errors"

// Messages the client receives in `('error', message)` acknowledgements; the words are
// OWT's (owt-protocol.md §4.2–4.3) unless noted.
const (
	MsgInService           = "Connection is in service"
	MsgIllegal             = "Illegal request"
	MsgUnsupportedProtocol = "Unsupported client protocol" // Conclave: OWT's 3.x legacy path
	MsgUnknownProtocol     = "Unknown client protocol"
	MsgUserAgent           = "User agent info is incorrect"
	MsgDeprecated          = "Deprecated client version"
	MsgInvalidToken        = "Invalid token" // Conclave: OWT never answers a reused token
	MsgTokenSignature      = "Invalid token signature"
	MsgExpired             = "Expired"
	MsgTicketExpired       = "Ticket is expired"
	MsgTicketSignature     = "Invalid reconnection ticket signature"
	MsgNoClient            = "Client does NOT exist"
	MsgNotAllowed          = "Reconnection is not allowed"
	MsgNotMatched          = "Participant ID is not matched"
	MsgNotEnabled          = "Reconnection is not enabled."
	MsgStreamID            = "Invalid stream id"
	MsgSubscriptionID      = "Invalid subscription id"
	MsgSoacID              = "Invalid soac id"
	MsgSignalingObject     = "Invalid signaling object"
	MsgSignalingType       = "Invalid signaling type"
	MsgReceiver            = "Invalid receiver"
	MsgMessage             = "Invalid message" // Conclave: text messages must be strings
	MsgQUIC                = "QUIC transport is not supported"
	MsgUnavailable         = "Portal is not ready" // Conclave: no token store configured
)

// Sentinel errors of the package.
var (
	// ErrClosed: the hub is shutting down.
	ErrClosed = errors.New("signaling: closed")
	// ErrConfig: an invalid hub configuration.
	ErrConfig = errors.New("signaling: invalid config")
)

// Failure is an error whose text is sent to the client as is.
type Failure string

// Error implements error.
func (f Failure) Error() string { return string(f) }
