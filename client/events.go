package client

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"sync"

	"github.com/conclave-rtc/conclave/client/sio"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// handlers are the registered event callbacks.
type handlers struct {
	mu          sync.Mutex
	participant []func(protocol.ParticipantEvent)
	stream      []func(protocol.StreamEvent)
	text        []func(protocol.TextEvent)
	chat        []func(protocol.ChatEvent)
	drop        []func()
}

func (h *handlers) add(e Events) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Participant != nil {
		h.participant = append(h.participant, e.Participant)
	}
	if e.Stream != nil {
		h.stream = append(h.stream, e.Stream)
	}
	if e.Text != nil {
		h.text = append(h.text, e.Text)
	}
	if e.Chat != nil {
		h.chat = append(h.chat, e.Chat)
	}
	if e.Drop != nil {
		h.drop = append(h.drop, e.Drop)
	}
}

// snapshot copies the callbacks so they run without the lock.
func (h *handlers) snapshot() handlers {
	h.mu.Lock()
	defer h.mu.Unlock()
	return handlers{participant: slices.Clone(h.participant), stream: slices.Clone(h.stream),
		text: slices.Clone(h.text), chat: slices.Clone(h.chat), drop: slices.Clone(h.drop)}
}

// OnParticipant registers a callback for participant join/leave events. Join's Data is a
// protocol.ParticipantInfo, leave's the participant id string; Conclave's update (a display
// name or media state changed) carries the whole protocol.ParticipantInfo.
func (c *Client) OnParticipant(f func(protocol.ParticipantEvent)) {
	c.handlers.add(Events{Participant: f})
}

// OnStream registers a callback for stream events. Data is a protocol.StreamInfo for
// "add" (see StreamInfoOf), a protocol.StreamUpdate for "update" and nil for "remove".
// The Streams snapshot is already updated when the callback runs.
func (c *Client) OnStream(f func(protocol.StreamEvent)) { c.handlers.add(Events{Stream: f}) }

// OnText registers a callback for text messages.
func (c *Client) OnText(f func(protocol.TextEvent)) { c.handlers.add(Events{Text: f}) }

// OnDrop registers a callback for the server's drop; the client closes right after.
func (c *Client) OnDrop(f func()) { c.handlers.add(Events{Drop: f}) }

// StreamInfoOf returns the StreamInfo of a stream "add" event (or an "update" of field ".").
func StreamInfoOf(ev protocol.StreamEvent) (protocol.StreamInfo, bool) {
	if info, ok := ev.Data.(protocol.StreamInfo); ok {
		return info, true
	}
	if u, ok := ev.Data.(protocol.StreamUpdate); ok {
		info, ok := u.Value.(protocol.StreamInfo)
		return info, ok
	}
	return protocol.StreamInfo{}, false
}

// Streams returns the room's streams as known from login and later stream events.
func (c *Client) Streams() []protocol.StreamInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Collect(maps.Values(c.streams))
	slices.SortFunc(out, func(a, b protocol.StreamInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Stream returns one stream of the snapshot.
func (c *Client) Stream(id string) (protocol.StreamInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streams[id]
	return s, ok
}

// Participants returns the room's participants as known from login and later events.
func (c *Client) Participants() []protocol.ParticipantInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Collect(maps.Values(c.participants))
	slices.SortFunc(out, func(a, b protocol.ParticipantInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// install registers the client's handlers on a signaling connection.
func (c *Client) install(conn *sio.Conn) {
	conn.On(protocol.EventProgress, func(args []json.RawMessage) { c.onProgress(first(args)) })
	conn.On(protocol.EventStream, func(args []json.RawMessage) { c.onStream(first(args)) })
	conn.On(protocol.EventParticipant, func(args []json.RawMessage) { c.onParticipant(first(args)) })
	conn.On(protocol.EventText, func(args []json.RawMessage) { c.onText(first(args)) })
	conn.On(protocol.EventChat, func(args []json.RawMessage) { c.onChat(first(args)) })
	conn.On(protocol.EventDrop, func([]json.RawMessage) { c.onDrop() })
}

func first(args []json.RawMessage) json.RawMessage {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

// streamWire is a stream event before its data is typed.
type streamWire struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
}

func (c *Client) onStream(raw json.RawMessage) {
	var w streamWire
	if json.Unmarshal(raw, &w) != nil || w.ID == "" {
		c.log.Debug("bad stream event", "data", string(raw))
		return
	}
	ev := protocol.StreamEvent{ID: w.ID, Status: w.Status}
	c.mu.Lock()
	switch w.Status {
	case "add":
		var info protocol.StreamInfo
		if json.Unmarshal(w.Data, &info) == nil {
			c.streams[w.ID] = info
			ev.Data = info
		}
	case "update":
		ev.Data = c.applyUpdate(w.ID, w.Data)
	case "remove":
		delete(c.streams, w.ID)
	}
	c.mu.Unlock()
	for _, f := range c.handlers.snapshot().stream {
		f(ev)
	}
}

// applyUpdate updates the snapshot for a stream "update" and returns the typed data.
// The caller holds c.mu.
func (c *Client) applyUpdate(id string, data json.RawMessage) any {
	var u struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal(data, &u) != nil {
		return nil
	}
	out := protocol.StreamUpdate{Field: u.Field}
	info, known := c.streams[id]
	switch u.Field {
	case ".":
		var full protocol.StreamInfo
		if json.Unmarshal(u.Value, &full) == nil {
			c.streams[id] = full
			out.Value = full
			return out
		}
	case "audio.status", "video.status":
		var status string
		if json.Unmarshal(u.Value, &status) == nil && known {
			kind := u.Field[:len(u.Field)-len(".status")]
			info.Media.Tracks = slices.Clone(info.Media.Tracks)
			for i := range info.Media.Tracks {
				if info.Media.Tracks[i].Type == kind {
					info.Media.Tracks[i].Status = status
				}
			}
			c.streams[id] = info
		}
	case "video.layout", "activeInput":
		// A mixed stream's layout or loudest input: kept in info.layout / info.activeInput.
		if known {
			key := map[string]string{"video.layout": "layout", "activeInput": "activeInput"}[u.Field]
			if merged, err := setInfoField(info.Info, key, u.Value); err == nil {
				info.Info = merged
				c.streams[id] = info
			}
		}
	}
	var v any
	_ = json.Unmarshal(u.Value, &v)
	out.Value = v
	return out
}

func (c *Client) onParticipant(raw json.RawMessage) {
	var w struct {
		Action string          `json:"action"`
		Data   json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &w) != nil {
		return
	}
	ev := protocol.ParticipantEvent{Action: w.Action}
	c.mu.Lock()
	switch w.Action {
	case "join":
		var p protocol.ParticipantInfo
		if json.Unmarshal(w.Data, &p) == nil {
			c.participants[p.ID] = p
			ev.Data = p
		}
	case "leave":
		var id string
		if json.Unmarshal(w.Data, &id) == nil {
			delete(c.participants, id)
			ev.Data = id
		}
	case "update": // Conclave: a new display name or media state (docs/people.md)
		var p protocol.ParticipantInfo
		if json.Unmarshal(w.Data, &p) == nil && p.ID != "" {
			c.participants[p.ID] = p
			ev.Data = p
		}
	}
	c.mu.Unlock()
	for _, f := range c.handlers.snapshot().participant {
		f(ev)
	}
}

func (c *Client) onText(raw json.RawMessage) {
	var ev protocol.TextEvent
	if json.Unmarshal(raw, &ev) != nil {
		return
	}
	for _, f := range c.handlers.snapshot().text {
		f(ev)
	}
}

func (c *Client) onDrop() {
	for _, f := range c.handlers.snapshot().drop {
		f()
	}
	c.closeWith(ErrDropped)
}

// setInfoField returns the stream info object with key set to value.
func setInfoField(info json.RawMessage, key string, value json.RawMessage) (json.RawMessage, error) {
	fields := map[string]json.RawMessage{}
	if len(info) > 0 {
		if err := json.Unmarshal(info, &fields); err != nil {
			return nil, err
		}
	}
	fields[key] = value
	return json.Marshal(fields)
}
