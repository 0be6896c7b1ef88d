// Package store keeps services, rooms, tokens, the token-signing key and room-ownership leases.
//
// Two implementations share one contract (store/storetest): MongoDB (package store/mongo) for
// distributed deployments and an embedded bbolt database (package store/embedded) for the
// all-in-one binary. Neither relies on transactions, change streams or TTL indexes, so the
// MongoDB implementation also runs against MongoDB-wire servers such as FerretDB.
//
// Service keys are encrypted at rest with the cluster key (package secret); callers always see
// plaintext keys. A key that does not decrypt (another cluster key, a tampered record) is
// reported as ErrUnavailable wrapping secret.ErrDecrypt.
//
// Common to both implementations: times (token creation, lease expiry) are kept to the
// millisecond and returned in UTC; an operation whose ctx has ended fails with an error that
// wraps both ErrUnavailable and the ctx error; a room config that is not a JSON object is
// rejected with an implementation error that is none of the sentinels below.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors. Implementations wrap driver failures in ErrUnavailable.
var (
	ErrNotFound    = errors.New("store: not found")
	ErrDuplicate   = errors.New("store: duplicate")
	ErrUnavailable = errors.New("store: unavailable")
	// ErrLeaseHeld: the lease is held by another live owner.
	ErrLeaseHeld = errors.New("store: lease held by another owner")
	// ErrPathTaken: another room of the service has the path (Room.Path).
	ErrPathTaken = errors.New("store: room path in use")
	// ErrEmptyPath: ClaimRoom was asked for the empty path (no path at all).
	ErrEmptyPath = errors.New("store: empty room path")
)

// Service is a tenant: a named holder of rooms with its own MAuth key.
type Service struct {
	ID   string // 24 hex
	Name string // unique
	Key  string // plaintext; stored encrypted
	// Rooms lists the ids of the service's rooms (filled on read, sorted by id).
	Rooms []string
}

// Room is a room record. The room's configuration is kept as the JSON document the management
// API validated (package room defines it), so the store never depends on the room schema.
//
// Path and Pool are a Conclave extension that lets applications address rooms by a URL path
// and hand out rooms from a pool (the "claim room" flow of an app server). A room is claimable
// while Pool is set and Path is empty.
type Room struct {
	ID        string // 24 hex, sortable by creation time
	ServiceID string
	Config    json.RawMessage // the room JSON without "_id"/"id"
	// Path is unique within the service; "" means none. The store does not check its form
	// (package room does).
	Path string
	// Pool marks a room of the service's pool: ClaimRoom may give it a path while it has none.
	Pool bool
}

// Preference is a scheduling preference (OWT `{isp, region}`).
type Preference struct {
	ISP    string `json:"isp"`
	Region string `json:"region"`
}

// Token is a one-time join token record.
type Token struct {
	ID        string // 24 hex; the tokenId inside the token string
	ServiceID string
	RoomID    string
	User      string
	Role      string
	Origin    Preference
	Code      string // the portal scheduling task id (OWT token.code)
	Secure    bool
	Host      string
	Domain    string
	Created   time.Time
}

// Lease records which agent owns a named resource (a live room) until Expires.
type Lease struct {
	Name    string
	Owner   string
	Expires time.Time
}

// ServiceStore keeps services.
type ServiceStore interface {
	// CreateService inserts s (ID must be set); ErrDuplicate if the id or name exists.
	CreateService(ctx context.Context, s Service) error
	// GetService returns the service with its room ids; ErrNotFound if absent.
	GetService(ctx context.Context, id string) (Service, error)
	// ListServices returns every service, sorted by id.
	ListServices(ctx context.Context) ([]Service, error)
	// DeleteService removes the service and all its rooms; ErrNotFound if absent.
	DeleteService(ctx context.Context, id string) error
}

// RoomStore keeps rooms. Every method but GetRoomByID is scoped to a service: a room of
// another service is ErrNotFound. Paths are unique per service: two services may use the same
// path, and deleting a room (or its service) frees its path.
type RoomStore interface {
	// CreateRoom inserts r (ID and ServiceID set); ErrNotFound if the service does not exist,
	// ErrDuplicate if the room id exists, ErrPathTaken if another room of the service has
	// r.Path.
	CreateRoom(ctx context.Context, r Room) error
	GetRoom(ctx context.Context, serviceID, roomID string) (Room, error)
	// GetRoomByID finds a room whatever its service (used by agents that hold a room id
	// from a token).
	GetRoomByID(ctx context.Context, roomID string) (Room, error)
	// ListRooms returns the service's rooms sorted by id, skipping skip and returning at most
	// limit (limit <= 0: all). An unknown service has no rooms (an empty list, no error).
	ListRooms(ctx context.Context, serviceID string, skip, limit int) ([]Room, error)
	// UpdateRoom replaces the config, path and pool flag of an existing room; ErrNotFound if
	// absent, ErrPathTaken (and no change) if another room of the service has r.Path.
	UpdateRoom(ctx context.Context, r Room) error
	// DeleteRoom removes the room; ErrNotFound if absent or in another service.
	DeleteRoom(ctx context.Context, serviceID, roomID string) error
	// GetRoomByPath returns the service's room with that path; ErrNotFound if none.
	GetRoomByPath(ctx context.Context, serviceID, path string) (Room, error)
	// ClaimRoom returns the service's room with that path and, when there is none, gives the
	// path to one of the service's claimable rooms (Pool set, no Path) and returns it.
	// Concurrent claims are atomic: claims of one path all return the same room, and claims of
	// different paths get different rooms. ErrEmptyPath for path "". ErrNotFound when no room
	// is claimable; with the MongoDB store also, briefly, while concurrent claims of one new
	// path hold the pool rooms they are about to give back (see the mongo package).
	ClaimRoom(ctx context.Context, serviceID, path string) (Room, error)
	// ReleaseRoom removes the room's path and puts it in the pool (Pool set): it is claimable
	// again. ErrNotFound if absent or in another service.
	ReleaseRoom(ctx context.Context, serviceID, roomID string) (Room, error)
}

// TokenStore keeps one-time tokens.
type TokenStore interface {
	// CreateToken stores t (ID set); ErrDuplicate if the id exists.
	CreateToken(ctx context.Context, t Token) error
	// ConsumeToken atomically removes and returns the token: of many concurrent callers
	// exactly one gets it, the others get ErrNotFound. Expiry is the caller's decision.
	ConsumeToken(ctx context.Context, id string) (Token, error)
	// PurgeTokens removes tokens created before cutoff and returns how many.
	PurgeTokens(ctx context.Context, cutoff time.Time) (int, error)
}

// KeyStore keeps the token-signing key shared by the management API and the portals.
type KeyStore interface {
	// TokenKey returns the cluster's token-signing key, creating it with gen on first use.
	// Concurrent first callers all get the same key.
	TokenKey(ctx context.Context, gen func() string) (string, error)
}

// LeaseStore keeps ownership leases.
type LeaseStore interface {
	// AcquireLease gives name to owner until now+ttl if it is free, expired or already
	// owner's (renewal); otherwise it returns the current lease and ErrLeaseHeld.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error)
	// GetLease returns the current lease (possibly expired); ErrNotFound if none or released.
	GetLease(ctx context.Context, name string) (Lease, error)
	// ReleaseLease deletes the lease if owner holds it; otherwise it does nothing.
	ReleaseLease(ctx context.Context, name, owner string) error
}

// NonceStore remembers one-time values (the cnonce and timestamp of signed management API
// requests) until they expire, for every process of a deployment: a request replayed to
// another management API instance is recognised too.
type NonceStore interface {
	// ClaimNonce records key until expires and reports true, or reports false when key is
	// already recorded and not expired. Of concurrent claims of one key exactly one gets true.
	ClaimNonce(ctx context.Context, key string, expires time.Time) (bool, error)
	// PurgeNonces removes the nonces that expired before cutoff and returns how many.
	PurgeNonces(ctx context.Context, cutoff time.Time) (int, error)
	// NoncesSince is the time from which every claim is known: a value issued before it may
	// have been claimed and forgotten (a restarted in-memory store), so callers refuse it.
	// The zero time: nothing is ever forgotten.
	NoncesSince() time.Time
}

// ChatMessage is a stored chat message of a room (docs/chat.md). IDs are made by
// ids.ObjectID, so they sort by creation; history is ordered by ID.
type ChatMessage struct {
	ID        string
	RoomID    string
	From      string // participant id, or "service"
	To        string // "all" or a participant id
	Content   string
	Timestamp int64 // unix ms
	Edited    int64 // unix ms; 0 when never edited
	// Reactions maps a reaction type to the participants who gave it, in the order they did.
	Reactions map[string][]string
}

// ChatStore keeps the chat history of rooms. Deleting a room (or its service) deletes its
// messages.
type ChatStore interface {
	// AppendMessage stores a new message; ErrDuplicate if its id exists in the room.
	AppendMessage(ctx context.Context, m ChatMessage) error
	// UpdateMessage replaces the content, edit time and reactions of a stored message;
	// ErrNotFound if absent.
	UpdateMessage(ctx context.Context, m ChatMessage) error
	// DeleteMessage removes one message; ErrNotFound if absent.
	DeleteMessage(ctx context.Context, roomID, id string) error
	// ListMessages returns, oldest first, the last limit messages of the room whose id is
	// below before ("" means the newest); limit <= 0 means all.
	ListMessages(ctx context.Context, roomID, before string, limit int) ([]ChatMessage, error)
	// TrimMessages removes the room's messages whose id is below keepFrom and returns how
	// many.
	TrimMessages(ctx context.Context, roomID, keepFrom string) (int, error)
	// DeleteRoomMessages removes every message of the room.
	DeleteRoomMessages(ctx context.Context, roomID string) error
}

// StreamKey is a long-lived, revocable publishing credential (a WHIP bearer for encoders
// such as OBS, docs/whip-whep.md) scoped to one room and role. Only a hash of its secret is
// stored: the secret is shown once, when the key is created.
type StreamKey struct {
	ID        string // 24 hex; the public part of the key string
	ServiceID string
	RoomID    string
	User      string
	Role      string
	Hash      string // hex SHA-256 of the secret part
	Created   time.Time
}

// StreamKeyStore keeps stream keys.
type StreamKeyStore interface {
	// CreateStreamKey stores k (ID set); ErrDuplicate if the id exists.
	CreateStreamKey(ctx context.Context, k StreamKey) error
	// GetStreamKey returns the key with that id; ErrNotFound if absent or deleted.
	GetStreamKey(ctx context.Context, id string) (StreamKey, error)
	// ListStreamKeys returns the room's keys, sorted by id.
	ListStreamKeys(ctx context.Context, serviceID, roomID string) ([]StreamKey, error)
	// DeleteStreamKey removes a key of the room; ErrNotFound if absent or of another room.
	DeleteStreamKey(ctx context.Context, serviceID, roomID, id string) error
}

// Store is everything a Conclave deployment persists.
type Store interface {
	ServiceStore
	RoomStore
	ChatStore
	StreamKeyStore
	TokenStore
	KeyStore
	LeaseStore
	NonceStore
	// Ping checks the database is reachable.
	Ping(ctx context.Context) error
	Close(ctx context.Context) error
}

// RoomVisitor is implemented by stores that can show a service's rooms without copying them:
// VisitRooms calls fn for the rooms ListRooms would return, in the same order, with the
// stored configuration (Room.Config) valid only during the call. The management API writes
// room lists with it when the store has it.
type RoomVisitor interface {
	VisitRooms(ctx context.Context, serviceID string, skip, limit int, fn func(r Room) error) error
}
