package mongo

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/conclave-rtc/conclave/common/store"
)

// collChat holds chat messages: {_id: "<room>/<message id>", room, id, from, to, content, ts,
// edited, reactions}. The _id prefix keeps one room's messages contiguous and in id order
// under the primary index, so no secondary index is needed.
const collChat = "chat"

// chatDoc is a stored chat message.
type chatDoc struct {
	Key       string              `bson:"_id"`
	Room      string              `bson:"room"`
	ID        string              `bson:"id"`
	From      string              `bson:"from"`
	To        string              `bson:"to"`
	Content   string              `bson:"content"`
	Timestamp int64               `bson:"ts"`
	Edited    int64               `bson:"edited,omitempty"`
	Reactions map[string][]string `bson:"reactions,omitempty"`
}

func chatKey(roomID, id string) string { return roomID + "/" + id }

func chatDocOf(m store.ChatMessage) chatDoc {
	return chatDoc{Key: chatKey(m.RoomID, m.ID), Room: m.RoomID, ID: m.ID, From: m.From, To: m.To,
		Content: m.Content, Timestamp: m.Timestamp, Edited: m.Edited, Reactions: m.Reactions}
}

func (d chatDoc) message() store.ChatMessage {
	return store.ChatMessage{ID: d.ID, RoomID: d.Room, From: d.From, To: d.To, Content: d.Content,
		Timestamp: d.Timestamp, Edited: d.Edited, Reactions: d.Reactions}
}

// roomRange selects the room's messages with keys in [room/from, room/to); "" ends are open.
func roomRange(roomID, from, to string) bson.D {
	key := bson.D{{Key: "$gte", Value: chatKey(roomID, from)}}
	if to != "" {
		key = append(key, bson.E{Key: "$lt", Value: chatKey(roomID, to)})
	}
	return bson.D{{Key: "room", Value: roomID}, {Key: "_id", Value: key}}
}

// AppendMessage stores a new message; ErrDuplicate if its id exists in the room.
func (s *Store) AppendMessage(ctx context.Context, m store.ChatMessage) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	_, err = s.chat.InsertOne(ctx, chatDocOf(m))
	return s.fail(ctx, "append message "+m.ID, err)
}

// UpdateMessage replaces a stored message's content, edit time and reactions.
func (s *Store) UpdateMessage(ctx context.Context, m store.ChatMessage) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	res, err := s.chat.ReplaceOne(ctx, bson.D{{Key: "_id", Value: chatKey(m.RoomID, m.ID)}}, chatDocOf(m))
	if err != nil {
		return s.fail(ctx, "update message "+m.ID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("%w: message %s", store.ErrNotFound, m.ID)
	}
	return nil
}

// DeleteMessage removes one message.
func (s *Store) DeleteMessage(ctx context.Context, roomID, id string) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	res, err := s.chat.DeleteOne(ctx, bson.D{{Key: "_id", Value: chatKey(roomID, id)}})
	if err != nil {
		return s.fail(ctx, "delete message "+id, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("%w: message %s", store.ErrNotFound, id)
	}
	return nil
}

// ListMessages returns the last limit messages below before, oldest first.
func (s *Store) ListMessages(ctx context.Context, roomID, before string, limit int) ([]store.ChatMessage, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return nil, err
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := s.chat.Find(ctx, roomRange(roomID, "", before), opts)
	if err != nil {
		return nil, s.fail(ctx, "list messages of room "+roomID, err)
	}
	var docs []chatDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "list messages of room "+roomID, err)
	}
	out := make([]store.ChatMessage, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.message())
	}
	slices.Reverse(out)
	return out, nil
}

// TrimMessages removes the room's messages below keepFrom.
func (s *Store) TrimMessages(ctx context.Context, roomID, keepFrom string) (int, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return 0, err
	}
	if keepFrom == "" {
		return 0, nil
	}
	res, err := s.chat.DeleteMany(ctx, roomRange(roomID, "", keepFrom))
	if err != nil {
		return 0, s.fail(ctx, "trim messages of room "+roomID, err)
	}
	return int(res.DeletedCount), nil
}

// DeleteRoomMessages removes every message of the room.
func (s *Store) DeleteRoomMessages(ctx context.Context, roomID string) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	_, err = s.chat.DeleteMany(ctx, bson.D{{Key: "room", Value: roomID}})
	return s.fail(ctx, "delete messages of room "+roomID, err)
}

// deleteChatOf removes the messages of the given rooms (a deleted service's).
func (s *Store) deleteChatOf(ctx context.Context, roomIDs []string) error {
	if len(roomIDs) == 0 {
		return nil
	}
	_, err := s.chat.DeleteMany(ctx, bson.D{{Key: "room", Value: bson.D{{Key: "$in", Value: roomIDs}}}})
	return s.fail(ctx, "delete messages", err)
}
