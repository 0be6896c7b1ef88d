package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/store"
)

// bucketChat holds one nested bucket per room (room id → message id → record), so a room's
// history is a cursor walk in id order and deleting a room drops one bucket.
var bucketChat = []byte("chat")

// chatRecord is a stored chat message.
type chatRecord struct {
	From      string              `json:"from"`
	To        string              `json:"to"`
	Content   string              `json:"content"`
	Timestamp int64               `json:"ts"`
	Edited    int64               `json:"edited,omitempty"`
	Reactions map[string][]string `json:"reactions,omitempty"`
}

func (r chatRecord) message(roomID, id string) store.ChatMessage {
	return store.ChatMessage{ID: id, RoomID: roomID, From: r.From, To: r.To, Content: r.Content,
		Timestamp: r.Timestamp, Edited: r.Edited, Reactions: r.Reactions}
}

func chatRecordOf(m store.ChatMessage) chatRecord {
	return chatRecord{From: m.From, To: m.To, Content: m.Content, Timestamp: m.Timestamp,
		Edited: m.Edited, Reactions: m.Reactions}
}

// roomChat returns the room's message bucket, creating it when create is set; nil if absent.
func roomChat(tx *bolt.Tx, roomID string, create bool) (*bolt.Bucket, error) {
	if !create {
		if chat := tx.Bucket(bucketChat); chat != nil {
			return chat.Bucket([]byte(roomID)), nil
		}
		return nil, nil
	}
	chat, err := tx.CreateBucketIfNotExists(bucketChat)
	if err != nil {
		return nil, err
	}
	return chat.CreateBucketIfNotExists([]byte(roomID))
}

// AppendMessage stores a new message; ErrDuplicate if its id exists in the room.
func (s *Store) AppendMessage(ctx context.Context, m store.ChatMessage) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := roomChat(tx, m.RoomID, true)
		if err != nil {
			return err
		}
		if b.Get([]byte(m.ID)) != nil {
			return fmt.Errorf("%w: message %s", store.ErrDuplicate, m.ID)
		}
		return putMessage(b, m)
	})
}

func putMessage(b *bolt.Bucket, m store.ChatMessage) error {
	raw, err := json.Marshal(chatRecordOf(m))
	if err != nil {
		return err
	}
	return b.Put([]byte(m.ID), raw)
}

// UpdateMessage replaces a stored message's content, edit time and reactions.
func (s *Store) UpdateMessage(ctx context.Context, m store.ChatMessage) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := roomChat(tx, m.RoomID, false)
		if err != nil {
			return err
		}
		if b == nil || b.Get([]byte(m.ID)) == nil {
			return fmt.Errorf("%w: message %s", store.ErrNotFound, m.ID)
		}
		return putMessage(b, m)
	})
}

// DeleteMessage removes one message.
func (s *Store) DeleteMessage(ctx context.Context, roomID, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := roomChat(tx, roomID, false)
		if err != nil {
			return err
		}
		if b == nil || b.Get([]byte(id)) == nil {
			return fmt.Errorf("%w: message %s", store.ErrNotFound, id)
		}
		return b.Delete([]byte(id))
	})
}

// ListMessages returns the last limit messages below before, oldest first.
func (s *Store) ListMessages(ctx context.Context, roomID, before string, limit int) ([]store.ChatMessage, error) {
	var out []store.ChatMessage
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := roomChat(tx, roomID, false)
		if err != nil || b == nil {
			return err
		}
		c := b.Cursor()
		k, v := c.Last()
		if before != "" {
			k, v = c.Seek([]byte(before))
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var rec chatRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return corrupt("chat message", k, err)
			}
			out = append(out, rec.message(roomID, string(k)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// TrimMessages removes the room's messages below keepFrom.
func (s *Store) TrimMessages(ctx context.Context, roomID, keepFrom string) (int, error) {
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := roomChat(tx, roomID, false)
		if err != nil || b == nil {
			return err
		}
		var old [][]byte // deleting under a moving cursor skips keys: collect first
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, []byte(keepFrom)) < 0; k, _ = c.Next() {
			old = append(old, append([]byte(nil), k...))
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, err
}

// DeleteRoomMessages removes every message of the room.
func (s *Store) DeleteRoomMessages(ctx context.Context, roomID string) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return deleteRoomChat(tx, roomID) })
}

// deleteRoomChat drops the room's message bucket if it has one.
func deleteRoomChat(tx *bolt.Tx, roomID string) error {
	chat := tx.Bucket(bucketChat)
	if chat == nil {
		return nil
	}
	if err := chat.DeleteBucket([]byte(roomID)); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
		return err
	}
	return nil
}
