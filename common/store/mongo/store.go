// Package mongo is the store.Store of distributed deployments, on MongoDB or a MongoDB-wire
// server such as FerretDB.
//
// It relies on no transactions, change streams, TTL indexes or $lookup, and on no atomicity
// of findAndModify or conditional updates: FerretDB v1 runs those as a query followed by a
// write by _id, so two racing clients can both "win". Every race this package must settle is
// therefore settled by what both servers do atomically: an insert against the unique _id (or
// a unique index), a write refused by a unique index, and a delete by _id that reports how
// many documents it removed. See ConsumeToken, TokenKey, AcquireLease and ClaimRoom.
//
// Collections: services {_id, name (unique), key (sealed), encrypted}, rooms {_id, service,
// config (a BSON subdocument), json, path, pathKey (unique), pool}, roomPool {_id (a room id),
// service} (the claimable rooms, paths.go), tokens, keys {_id, key (sealed), encrypted},
// leases (one document per lease generation) and chat (chat.go). Times are BSON dates, so
// they are kept to the millisecond.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	mdb "go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
)

// Timeouts chosen so that an outage surfaces as ErrUnavailable instead of the driver's 30 s
// defaults, early enough that the REST answer (500/1401) leaves within the failure
// contract's second (docs/architecture.md §9): measured at 1.00 s with 1 s timeouts, which the
// request's own handling then pushed past the bound.
const (
	serverSelectionTimeout = 800 * time.Millisecond
	connectTimeout         = 800 * time.Millisecond
	socketTimeout          = 10 * time.Second
	// defaultOpTimeout bounds an operation whose ctx has no deadline.
	defaultOpTimeout = 5 * time.Second
)

// Collection names.
const (
	collServices = "services"
	collRooms    = "rooms"
	collPool     = "roomPool"
	collTokens   = "tokens"
	collKeys     = "keys"
	collLeases   = "leases"
	collNonces   = "nonces"
)

// Store is the MongoDB store.Store. It is safe for concurrent use.
type Store struct {
	client                                                    *mdb.Client
	db                                                        *mdb.Database
	services, rooms, pool, tokens, keys, leases, nonces, chat *mdb.Collection
	box                                                       *secret.Box
}

var _ store.Store = (*Store)(nil)

// Open connects to uri, checks the server answers and creates the indexes the store needs in
// database. box encrypts service keys and the token-signing key at rest; it must be made from
// the cluster key derived for secret.PurposeServiceKey and be the same on every node.
func Open(ctx context.Context, uri, database string, box *secret.Box) (*Store, error) {
	if box == nil {
		return nil, errors.New("mongo store: nil box")
	}
	if database == "" {
		return nil, errors.New("mongo store: empty database name")
	}
	opts := options.Client().ApplyURI(uri).
		SetAppName("conclave").
		SetServerSelectionTimeout(serverSelectionTimeout).
		SetConnectTimeout(connectTimeout).
		SetSocketTimeout(socketTimeout)
	client, err := mdb.Connect(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: connect: %w", store.ErrUnavailable, err)
	}
	s := newStore(client, database, box)
	if err := s.Ping(ctx); err != nil {
		return nil, errors.Join(err, client.Disconnect(context.Background()))
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return nil, errors.Join(err, client.Disconnect(context.Background()))
	}
	return s, nil
}

func newStore(client *mdb.Client, database string, box *secret.Box) *Store {
	db := client.Database(database)
	return &Store{
		client: client, db: db, box: box,
		services: db.Collection(collServices), rooms: db.Collection(collRooms), pool: db.Collection(collPool),
		tokens: db.Collection(collTokens), keys: db.Collection(collKeys), leases: db.Collection(collLeases),
		nonces: db.Collection(collNonces), chat: db.Collection(collChat),
	}
}

// ensureIndexes creates the unique indexes that duplicate checks depend on (service names;
// room paths, as "<service>/<path>", sparse because rooms without a path lack the field) and
// the lookup indexes, which only speed queries up. A failure of a lookup index (an option the
// server does not implement, an existing index with other options) is ignored: FerretDB v1
// scans anyway.
func (s *Store) ensureIndexes(ctx context.Context) error {
	ctx, cancel := opContext(ctx)
	defer cancel()
	uniques := []struct {
		coll  *mdb.Collection
		field string
		opts  *options.IndexOptions
	}{
		{s.services, "name", options.Index().SetName("name_unique").SetUnique(true)},
		{s.rooms, "pathKey", options.Index().SetName("pathKey_unique").SetUnique(true).SetSparse(true)},
	}
	for _, u := range uniques {
		model := mdb.IndexModel{Keys: bson.D{{Key: u.field, Value: 1}}, Options: u.opts}
		if _, err := u.coll.Indexes().CreateOne(ctx, model); err != nil {
			return s.fail(ctx, "create "+u.coll.Name()+"."+u.field+" index", err)
		}
	}
	helpers := []struct {
		coll *mdb.Collection
		keys bson.D
	}{
		{s.rooms, bson.D{{Key: "service", Value: 1}, {Key: "_id", Value: 1}}},
		{s.pool, bson.D{{Key: "service", Value: 1}, {Key: "_id", Value: 1}}},
		{s.tokens, bson.D{{Key: "created", Value: 1}}},
		{s.leases, bson.D{{Key: "name", Value: 1}, {Key: "gen", Value: -1}}},
		{s.nonces, bson.D{{Key: "expires", Value: 1}}},
	}
	for _, h := range helpers {
		if _, err := h.coll.Indexes().CreateOne(ctx, mdb.IndexModel{Keys: h.keys}); err != nil &&
			ctx.Err() != nil {
			return s.fail(ctx, "create indexes", err)
		}
	}
	return nil
}

// Ping checks the server answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := opContext(ctx)
	defer cancel()
	if err := s.client.Ping(ctx, nil); err != nil {
		return s.fail(ctx, "ping", err)
	}
	return nil
}

// Close disconnects from the server, waiting (bounded by ctx) for operations in flight.
func (s *Store) Close(ctx context.Context) error {
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("%w: disconnect: %w", store.ErrUnavailable, err)
	}
	return nil
}

// opContext bounds an operation whose caller gave no deadline.
func opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultOpTimeout)
}

// fail maps a driver error: no document is store.ErrNotFound, a duplicate key (from an insert
// or an upsert) is store.ErrDuplicate, and everything else, including FerretDB's
// InternalError, network failures and server selection timeouts, is store.ErrUnavailable. A
// context error is kept in the chain so callers can tell cancellation from an outage.
func (s *Store) fail(ctx context.Context, what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mdb.ErrNoDocuments):
		return fmt.Errorf("%w: %s", store.ErrNotFound, what)
	case mdb.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %s: %w", store.ErrDuplicate, what, err)
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("%w: %s: %w: %w", store.ErrUnavailable, what, ctx.Err(), err)
	default:
		return fmt.Errorf("%w: %s: %w", store.ErrUnavailable, what, err)
	}
}

// begin starts an operation: it refuses an already-ended ctx (so cancellation is reported the
// same way as by the embedded store) and bounds one without a deadline.
func begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return ctx, func() {}, fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	c, cancel := opContext(ctx)
	return c, cancel, nil
}
