package signaling

import (
	"encoding/json"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

func TestSignalingDecodeChat(t *testing.T) {
	tests := []struct {
		event, raw string
		want       protocol.ChatRequest
		err        string
	}{
		{EvChatSend, `{"to":"all","content":"<i>x</i>"}`, protocol.ChatRequest{To: "all", Content: "<i>x</i>"}, ""},
		{EvChatSend, `{"to":"all"}`, protocol.ChatRequest{}, MsgChatContent},
		{EvChatSend, `{"content":"x"}`, protocol.ChatRequest{}, MsgReceiver},
		{EvChatSend, `{"to":"all","content":5}`, protocol.ChatRequest{}, MsgChatContent},
		{EvChatEdit, `{"id":"m1","content":"y"}`, protocol.ChatRequest{ID: "m1", Content: "y"}, ""},
		{EvChatEdit, `{"content":"y"}`, protocol.ChatRequest{}, MsgChatID},
		{EvChatDelete, `{"id":"m1"}`, protocol.ChatRequest{ID: "m1"}, ""},
		{EvChatDelete, `"m1"`, protocol.ChatRequest{}, MsgChatRequest},
		{EvChatReact, `{"id":"m1","reaction":"clap","add":true}`, protocol.ChatRequest{ID: "m1", Reaction: "clap", Add: true}, ""},
		{EvChatReact, `{"id":"m1","reaction":"clap","add":"yes"}`, protocol.ChatRequest{}, MsgChatRequest},
	}
	for _, tt := range tests {
		t.Run(tt.event+" "+tt.raw, func(t *testing.T) {
			got, err := DecodeChat(tt.event, json.RawMessage(tt.raw))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestSignalingDecodeChatHistory(t *testing.T) {
	for raw, want := range map[string]string{
		``: "", `null`: "", `{}`: "", `{"before":"m1","limit":100}`: "",
		`{"limit":0}`: MsgChatLimit, `{"limit":101}`: MsgChatLimit, `{"limit":"5"}`: MsgChatLimit,
		`{"before":3}`: MsgChatID,
	} {
		_, err := DecodeChatHistory(json.RawMessage(raw))
		if got := errString(err); got != want {
			t.Errorf("%s: error %q, want %q", raw, got, want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func FuzzChat(f *testing.F) {
	f.Add(EvChatSend, `{"to":"all","content":"x"}`)
	f.Add(EvChatReact, `{"id":"m","reaction":"clap","add":true}`)
	f.Add(EvChatHistory, `{"before":"m","limit":7}`)
	f.Add(EvChatEdit, `{"id":"","content":null}`)
	f.Fuzz(func(t *testing.T, event, in string) {
		if event == EvChatHistory {
			h, err := DecodeChatHistory(json.RawMessage(in))
			if err == nil && (h.Limit < 0 || h.Limit > chatLimitMax) {
				t.Fatalf("accepted limit %d", h.Limit)
			}
			return
		}
		req, err := DecodeChat(event, json.RawMessage(in))
		if err != nil {
			return
		}
		switch {
		case event == EvChatSend && (req.To == "" || req.Content == ""),
			event == EvChatEdit && (req.ID == "" || req.Content == ""),
			(event == EvChatDelete || event == EvChatReact) && req.ID == "",
			event == EvChatReact && req.Reaction == "":
			t.Fatalf("%s accepted %+v", event, req)
		}
	})
}
