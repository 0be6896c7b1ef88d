package validate

import (
	"errors"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// wantBadRequest checks err is a 400/1301 whose message contains field.
func wantBadRequest(t *testing.T, err error, field string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != errs.CodeBadRequest {
		t.Fatalf("err = %v, want 400/1301", err)
	}
	if !strings.Contains(e.Message, field) {
		t.Fatalf("message %q does not name %q", e.Message, field)
	}
}

func TestValidateStreamingOut(t *testing.T) {
	good := []struct{ body, proto string }{
		{`{"url":"rtmp://127.0.0.1/live/a","media":{"audio":{"from":"s"},"video":false}}`, "rtmp"},
		{`{"url":"rtsps://127.0.0.1/a","media":{"video":{"from":"s"}}}`, "rtsp"},
		{`{"url":"https://127.0.0.1/a/b.m3u8","parameters":{"method":"PUT","hlsTime":2},"media":{"video":{"from":"s"}}}`, "hls"},
		{`{"url":"http://127.0.0.1/x.mpd?t=1","media":{"video":{"from":"s","format":{"codec":"h264","profile":"CB"},"parameters":{"resolution":{"width":640,"height":480},"framerate":30,"bitrate":"x0.8","keyFrameInterval":2}}}}`, "dash"},
		{`{"protocol":"hls","url":"http://127.0.0.1/upload","media":{"video":{"from":"s","parameters":{"bitrate":800}}}}`, "hls"},
	}
	for _, g := range good {
		out, err := StreamingOut([]byte(g.body))
		if err != nil || out.Protocol != g.proto {
			t.Fatalf("%s: %+v %v", g.body, out, err)
		}
	}
	bad := []struct{ body, field string }{
		{`{"media":{"video":{"from":"s"}}}`, "url"},
		{`{"url":"http://127.0.0.1/x","media":{"video":{"from":"s"}}}`, "protocol"},
		{`{"protocol":"srt","url":"rtmp://127.0.0.1/x","media":{"video":{"from":"s"}}}`, "protocol"},
		{`{"url":"rtmp://127.0.0.1/x"}`, "media"},
		{`{"url":"rtmp://127.0.0.1/x","media":{"video":{}}}`, "media.video.from"},
		{`{"url":"rtmp://127.0.0.1/x","media":{"video":{"from":"s","extra":1}}}`, "extra"},
		{`{"url":"rtmp://127.0.0.1/x","media":{"video":{"from":5}}}`, "media.video.from"},
		{`{"url":"rtmp://127.0.0.1/x","media":{"video":{"from":"s","parameters":{"framerate":7}}}}`, "framerate"},
		{`{"url":"rtmp://127.0.0.1/x","media":{"video":{"from":"s","format":{"codec":"mpeg2"}}}}`, "codec"},
		{`{"url":"rtmp://127.0.0.1/x","media":{"audio":{"from":"s","format":{"codec":"mp3"}}}}`, "codec"},
		{`{"url":"rtmp://127.0.0.1/x","media":{"video":{"from":"s","parameters":{"bitrate":"y2"}}}}`, "bitrate"},
		{`{"url":"rtmp://127.0.0.1/x","parameters":{"hlsTime":2},"media":{"video":{"from":"s"}}}`, "parameters"},
		{`{"url":"rtmp://127.0.0.1/x","media":{"audio":true}}`, "media.audio"},
		{`{"url":"/tmp/out.m3u8","media":{"video":{"from":"s"}}}`, "url"},
		{`[1]`, "request body"},
	}
	for _, b := range bad {
		_, err := StreamingOut([]byte(b.body))
		wantBadRequest(t, err, b.field)
	}
}

func TestValidateStreamingIn(t *testing.T) {
	out, err := StreamingIn([]byte(`{"connection":{"url":"rtmp://127.0.0.1/a","transportProtocol":"udp","bufferSize":4096},"media":{"audio":false,"video":"auto"},"attributes":{"k":"v"}}`))
	if err != nil || out.Connection.BufferSize != 4096 || out.Media.Audio != protocol.TrackNo ||
		out.Media.Video != protocol.TrackAuto || string(out.Attributes) != `{"k":"v"}` {
		t.Fatalf("%+v %v", out, err)
	}
	bad := []struct{ body, field string }{
		{`{"media":{"audio":true,"video":true}}`, "connection"},
		{`{"connection":{},"media":{"audio":true,"video":true}}`, "connection.url"},
		{`{"connection":{"url":"file:///etc/passwd"},"media":{"audio":true,"video":true}}`, "connection.url"},
		{`{"connection":{"url":"rtsp:///nohost"},"media":{"audio":true,"video":true}}`, "connection.url"},
		{`{"connection":{"url":"rtsp://h/x","bufferSize":-1},"media":{"audio":true,"video":true}}`, "bufferSize"},
		{`{"connection":{"url":"rtsp://h/x","bufferSize":"big"},"media":{"audio":true,"video":true}}`, "bufferSize"},
		{`{"connection":{"url":"rtsp://h/x"}}`, "media"},
		{`{"connection":{"url":"rtsp://h/x"},"media":{"audio":"yes","video":true}}`, "media.audio"},
		{`{"connection":{"url":"rtsp://h/x"},"media":{"video":true}}`, "media.audio"},
		{`{"connection":{"url":"rtsp://h/x"},"media":{"audio":false,"video":false}}`, "media"},
	}
	for _, b := range bad {
		_, err := StreamingIn([]byte(b.body))
		wantBadRequest(t, err, b.field)
	}
}

func TestValidateRecordingSipAnalytics(t *testing.T) {
	r, err := Recording([]byte(`{"media":{"audio":{"from":"s"}}}`))
	if err != nil || r.Container != "auto" || r.Media.Video != nil {
		t.Fatalf("%+v %v", r, err)
	}
	_, err = Recording([]byte(`{"container":"avi","media":{"audio":{"from":"s"}}}`))
	wantBadRequest(t, err, "container")
	s, err := SipCall([]byte(`{"peerURI":"sip:a@b","mediaIn":{"audio":true,"video":false},"mediaOut":{"audio":{"from":"m"},"video":false}}`))
	if err != nil || s.MediaIn.Video || s.MediaOut.Audio.From != "m" {
		t.Fatalf("%+v %v", s, err)
	}
	_, err = SipCall([]byte(`{"peerURI":"sip:a@b","mediaIn":{"audio":true,"video":true},"mediaOut":{"audio":{"from":"m"},"video":false}}`))
	wantBadRequest(t, err, "mediaOut.video")
	_, err = SipCall([]byte(`{"mediaIn":{"audio":true,"video":false}}`))
	wantBadRequest(t, err, "peerURI")
	a, err := Analytics([]byte(`{"algorithm":"x","media":{"video":{"from":"s"}}}`))
	if err != nil || a.Algorithm != "x" {
		t.Fatalf("%+v %v", a, err)
	}
	_, err = Analytics([]byte(`{"media":{"video":{"from":"s"}}}`))
	wantBadRequest(t, err, "algorithm")
}

func TestValidatePatchOps(t *testing.T) {
	good := []struct {
		name  string
		parse func([]byte) ([]protocol.PatchOp, error)
		body  string
	}{
		{"participant object", ParticipantOps, `[{"op":"replace","path":"/permission/subscribe","value":{"audio":true,"video":false}}]`},
		{"participant bool", ParticipantOps, `[{"op":"replace","path":"/permission/publish/video","value":true}]`},
		{"stream mix", StreamOps, `[{"op":"remove","path":"/info/inViews","value":"common"}]`},
		{"stream status", StreamOps, `[{"op":"replace","path":"/media/video/status","value":"inactive"}]`},
		{"stream region", StreamOps, `[{"op":"replace","path":"/info/layout/3/stream","value":"s2"}]`},
		{"stream layout", StreamOps, `[{"op":"replace","path":"/info/layout","value":[{"stream":"a","region":{"id":"1","shape":"rectangle","area":{"left":"0","top":0,"width":"1/2","height":1}}},{"region":{"id":"2","area":{"left":"1/2","top":"0","width":"1/2","height":"1"}}}]}]`},
		{"sub resolution", func(b []byte) ([]protocol.PatchOp, error) { return SubscriptionOps(b, "/media") },
			`[{"op":"replace","path":"/media/video/parameters/resolution","value":{"width":320,"height":240}},{"op":"replace","path":"/media/video/from","value":"s"}]`},
		{"sip kfi", func(b []byte) ([]protocol.PatchOp, error) { return SubscriptionOps(b, "/output/media") },
			`[{"op":"replace","path":"/output/media/video/parameters/keyFrameInterval","value":30}]`},
	}
	for _, g := range good {
		ops, err := g.parse([]byte(g.body))
		if err != nil || len(ops) == 0 {
			t.Fatalf("%s: %v", g.name, err)
		}
	}
	bad := []struct {
		parse       func([]byte) ([]protocol.PatchOp, error)
		body, field string
	}{
		{ParticipantOps, `{}`, "request body"},
		{ParticipantOps, `[]`, "request body"},
		{ParticipantOps, `[{"op":"replace","path":"/permission/publish"}]`, "[0].value"},
		{ParticipantOps, `[{"op":"replace","path":"/permission/publish","value":{"audio":true}}]`, "value.video"},
		{ParticipantOps, `[{"op":"replace","path":"/permission/admin","value":true}]`, "[0].path"},
		{ParticipantOps, `[{"op":"remove","path":"/permission/publish/audio","value":true}]`, "[0].op"},
		{ParticipantOps, `[{"path":"/permission/publish/audio","value":true}]`, "[0].op"},
		{StreamOps, `[{"op":"replace","path":"/info/inViews","value":"x"}]`, "[0].op"},
		{StreamOps, `[{"op":"replace","path":"/info/layout/-1/stream","value":"x"}]`, "[0].path"},
		{StreamOps, `[{"op":"replace","path":"/info/layout","value":[{"region":{"id":"1","area":{"left":0,"top":0,"width":1,"height":1}}},{"stream":"a","region":{"id":"2","area":{"left":0,"top":0,"width":1,"height":1}}}]}]`, "stream"},
		{StreamOps, `[{"op":"replace","path":"/info/layout","value":[{"stream":"a","region":{"id":"1","area":{"left":"3/2","top":0,"width":1,"height":1}}}]}]`, "area.left"},
		{StreamOps, `[{"op":"replace","path":"/info/layout","value":[{"stream":"a","region":{"id":"1","shape":"circle","area":{"left":0,"top":0,"width":1,"height":1}}}]}]`, "shape"},
		{func(b []byte) ([]protocol.PatchOp, error) { return SubscriptionOps(b, "/media") },
			`[{"op":"replace","path":"/media/video/parameters/bitrate","value":500}]`, "value"},
	}
	for i, b := range bad {
		_, err := b.parse([]byte(b.body))
		if err == nil {
			t.Fatalf("case %d accepted", i)
		}
		wantBadRequest(t, err, b.field)
	}
}

func TestValidateSimple(t *testing.T) {
	if _, err := Service([]byte(`{"name":"a","key":"b"}`)); err != nil {
		t.Fatal(err)
	}
	_, err := Service([]byte(`{"name":"a"}`))
	wantBadRequest(t, err, "key")
	_, err = Token([]byte(`{"user":"a","role":"b","preference":{"isp":1}}`))
	wantBadRequest(t, err, "preference.isp")
	_, err = Token([]byte(`{"user":"a","role":"b","x":1}`))
	wantBadRequest(t, err, `"x"`)
	_, err = Token([]byte(`{"user":"a"`))
	wantBadRequest(t, err, msgParse)
	pages := []struct {
		page, per   string
		skip, limit int
		ok          bool
	}{
		{"", "", 0, 0, true}, {"3", "", 0, 0, true}, {"", "10", 0, 10, true}, {"3", "10", 20, 10, true},
		{"0", "10", 0, 10, true}, {"2", "5000", MaxPerPage, MaxPerPage, true},
		{"a", "", 0, 0, false}, {"", "-2", 0, 0, false}, {"1e3", "1", 0, 0, false}, {"1", "2000000000", 0, 0, false},
	}
	for _, p := range pages {
		skip, limit, err := Page(p.page, p.per)
		if (err == nil) != p.ok || skip != p.skip || limit != p.limit {
			t.Fatalf("Page(%q,%q) = %d,%d,%v", p.page, p.per, skip, limit, err)
		}
	}
	for id, ok := range map[string]bool{"abc-_09": true, "": false, "a.b": false, "a/b": false, strings.Repeat("a", 300): false} {
		if PathID(id) != ok {
			t.Fatalf("PathID(%q) != %v", id, ok)
		}
	}
}

func TestValidateClaim(t *testing.T) {
	if p, err := Claim([]byte(`{"path":"team/standup"}`)); err != nil || p != "team/standup" {
		t.Fatalf("Claim = %q, %v", p, err)
	}
	bad := []struct{ body, field string }{
		{`{}`, "Missing path"},
		{`{"path":null}`, "Missing path"},
		{`{"path":""}`, "path must not be empty"},
		{`{"path":"Team"}`, "path may only contain"},
		{`{"path":"a/"}`, "path must not start or end"},
		{`{"path":1}`, "Invalid path"},
		{`{"path":"a","pool":true}`, "Unknown field"},
		{`{"path":"a"} {}`, "Failed to parse"},
		{``, "Failed to parse"},
	}
	for _, b := range bad {
		_, err := Claim([]byte(b.body))
		wantBadRequest(t, err, b.field)
	}
}

// FuzzValidators feeds arbitrary bodies to every validator: none may panic, and every
// failure must be a 400/1301.
func FuzzValidators(f *testing.F) {
	f.Add(uint8(0), []byte(`{"url":"rtmp://h/x","media":{"audio":{"from":"s"},"video":false}}`))
	f.Add(uint8(1), []byte(`{"connection":{"url":"rtsp://h/x"},"media":{"audio":"auto","video":true}}`))
	f.Add(uint8(2), []byte(`{"container":"mkv","media":{"video":{"from":"s","parameters":{"bitrate":"x0.4"}}}}`))
	f.Add(uint8(3), []byte(`{"peerURI":"sip:a","mediaIn":{"audio":true,"video":false},"mediaOut":{"audio":{"from":"m"}}}`))
	f.Add(uint8(4), []byte(`{"algorithm":"a","media":{"video":{"from":"s"}}}`))
	f.Add(uint8(5), []byte(`[{"op":"replace","path":"/permission/publish","value":{"audio":true,"video":true}}]`))
	f.Add(uint8(6), []byte(`[{"op":"replace","path":"/info/layout","value":[{"region":{"id":"1","area":{"left":"1/3","top":0,"width":1,"height":1}}}]}]`))
	f.Add(uint8(7), []byte(`[{"op":"replace","path":"/media/video/parameters/resolution","value":{"width":1,"height":1}}]`))
	f.Add(uint8(8), []byte(`{"user":"u","role":"r","preference":{"isp":"i","region":"r"}}`))
	f.Add(uint8(9), []byte(`{"name":"n","key":"k"}`))
	f.Add(uint8(10), []byte(`{"path":"team/standup"}`))
	parsers := []func([]byte) error{
		func(b []byte) error { _, err := StreamingOut(b); return err },
		func(b []byte) error { _, err := StreamingIn(b); return err },
		func(b []byte) error { _, err := Recording(b); return err },
		func(b []byte) error { _, err := SipCall(b); return err },
		func(b []byte) error { _, err := Analytics(b); return err },
		func(b []byte) error { _, err := ParticipantOps(b); return err },
		func(b []byte) error { _, err := StreamOps(b); return err },
		func(b []byte) error { _, err := SubscriptionOps(b, "/media"); return err },
		func(b []byte) error { _, err := Token(b); return err },
		func(b []byte) error { _, err := Service(b); return err },
		func(b []byte) error { _, err := Claim(b); return err },
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		err := parsers[int(which)%len(parsers)](body)
		var e *errs.Error
		if err != nil && (!errors.As(err, &e) || e.Code != errs.CodeBadRequest || e.Status != 400) {
			t.Fatalf("error %v is not a 400/1301", err)
		}
	})
}
