package whip

import (
	"errors"
	"strings"
	"testing"
)

// gstOffer is GStreamer webrtcbin's max-bundle offer: the audio is bundle-only on port 0.
const gstOffer = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE video0 audio1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:uf\r\na=ice-pwd:pw\r\na=sendonly\r\na=mid:video0\r\n" +
	"a=candidate:1 1 UDP 2015363327 127.0.0.1 5000 typ host\r\n" +
	"m=audio 0 UDP/TLS/RTP/SAVPF 100\r\na=bundle-only\r\na=sendonly\r\na=mid:audio1\r\n"

func TestWHIPParseOffer(t *testing.T) {
	o, err := parseOffer(gstOffer)
	if err != nil {
		t.Fatal(err)
	}
	if o.ufrag != "uf" || o.pwd != "pw" || len(o.sections) != 2 {
		t.Fatalf("offer %+v", o)
	}
	tr, err := o.tracks("send")
	if err != nil || len(tr) != 2 || tr[0] != (track{"video", "video0"}) || tr[1] != (track{"audio", "audio1"}) {
		t.Fatalf("send tracks %+v, %v (the bundle-only audio counts)", tr, err)
	}
	if _, err := o.tracks("recv"); !errors.Is(err, ErrNoMedia) {
		t.Fatalf("recv tracks of a sendonly offer: %v, want ErrNoMedia", err)
	}
	tests := []struct {
		name, sdp string
		want      error
	}{
		{"empty", "", ErrMalformedSDP},
		{"garbage", "hello world", ErrMalformedSDP},
		{"no v=0 first", "o=- 1 0 IN IP4 0.0.0.0\r\nv=0\r\n", ErrMalformedSDP},
		{"no m-line", "v=0\r\ns=-\r\n", ErrMalformedSDP},
		{"short m-line", "v=0\r\nm=audio 9\r\n", ErrMalformedSDP},
		{"upper-case type", "v=0\r\nM=audio 9 RTP/AVP 0\r\n", ErrMalformedSDP},
		{"oversized", "v=0\r\n" + strings.Repeat("a=x\r\n", maxSDPBytes/5+1), ErrMalformedSDP},
	}
	for _, tc := range tests {
		if _, err := parseOffer(tc.sdp); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestWHIPOfferTracks(t *testing.T) {
	tests := []struct {
		name, sdp, dir string
		want           int
		err            error
	}{
		{"rejected audio (port 0, not bundle-only)", strings.Replace(gstOffer, "a=bundle-only\r\n", "", 1), "send", 1, nil},
		{"data channel only", "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n", "send", 0, ErrNoMedia},
		{"two videos", strings.Replace(gstOffer, "m=audio", "m=video", 1), "send", 0, ErrNoMedia},
		{"no mid", strings.Replace(gstOffer, "a=mid:video0\r\n", "", 1), "send", 0, ErrMalformedSDP},
		{"recvonly for WHEP", strings.ReplaceAll(gstOffer, "sendonly", "recvonly"), "recv", 2, nil},
		{"sendrecv (the default) is neither", strings.ReplaceAll(gstOffer, "a=sendonly\r\n", ""), "send", 0, ErrNoMedia},
		{"inactive", strings.ReplaceAll(gstOffer, "sendonly", "inactive"), "send", 0, ErrNoMedia},
	}
	for _, tc := range tests {
		o, err := parseOffer(tc.sdp)
		if err != nil {
			t.Fatalf("%s: parse: %v", tc.name, err)
		}
		got, err := o.tracks(tc.dir)
		if !errors.Is(err, tc.err) || len(got) != tc.want {
			t.Errorf("%s: %d tracks, %v; want %d, %v", tc.name, len(got), err, tc.want, tc.err)
		}
	}
}

func TestWHIPParseFragment(t *testing.T) {
	frag := "a=ice-ufrag:new\r\na=ice-pwd:secret\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\nm=video 9 RTP/AVP 0\r\na=mid:1\r\n" +
		"a=candidate:2 1 udp 2130706431 127.0.0.1 5002 typ host\r\na=end-of-candidates\r\n"
	f, err := parseFragment(frag)
	if err != nil {
		t.Fatal(err)
	}
	if f.ufrag != "new" || f.pwd != "secret" || len(f.candidates) != 2 {
		t.Fatalf("fragment %+v", f)
	}
	if c := f.candidates[1]; c.mid != "1" || c.index != 1 || !strings.HasPrefix(c.line, "candidate:2 ") {
		t.Fatalf("second candidate %+v", c)
	}
	for _, bad := range []string{"garbage", "a=candidate:1 1 udp\r\n", "a=ice-ufrag:only\r\n"} {
		if _, err := parseFragment(bad); !errors.Is(err, ErrMalformedSDP) {
			t.Errorf("parseFragment(%q) = %v, want ErrMalformedSDP", bad, err)
		}
	}
}

func TestWHIPRestartOfferAndAnswerFragment(t *testing.T) {
	re := restartOffer(gstOffer, "u2", "p2")
	if strings.Contains(re, "a=candidate") || !strings.Contains(re, "a=ice-ufrag:u2\r\n") ||
		!strings.Contains(re, "a=ice-pwd:p2\r\n") || strings.Contains(re, "a=ice-ufrag:uf") {
		t.Fatalf("restart offer:\n%s", re)
	}
	if _, err := parseOffer(re); err != nil {
		t.Fatalf("restart offer does not parse: %v", err)
	}
	answer := "v=0\r\nm=video 9 X 96\r\na=mid:video0\r\na=ice-ufrag:su\r\na=ice-pwd:sp\r\na=rtpmap:96 VP8/90000\r\n" +
		"a=candidate:9 1 udp 1 127.0.0.1 6000 typ host\r\na=end-of-candidates\r\nm=audio 9 X 100\r\na=mid:audio1\r\na=ice-ufrag:su\r\n"
	got := answerFragment(answer)
	want := "a=ice-ufrag:su\r\na=ice-pwd:sp\r\nm=video 9 X 96\r\na=mid:video0\r\na=candidate:9 1 udp 1 127.0.0.1 6000 typ host\r\n" +
		"a=end-of-candidates\r\nm=audio 9 X 100\r\na=mid:audio1\r\n"
	if got != want {
		t.Fatalf("answer fragment:\n%q\nwant\n%q", got, want)
	}
	f, err := parseFragment(got)
	if err != nil || f.ufrag != "su" || len(f.candidates) != 1 {
		t.Fatalf("the answer fragment does not parse back: %+v, %v", f, err)
	}
}

func FuzzWHIPParseOffer(f *testing.F) {
	f.Add(gstOffer)
	f.Add("v=0\r\nm=audio 0 RTP/AVP 0\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseOffer(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedSDP) {
				t.Fatalf("error %v is not ErrMalformedSDP", err)
			}
			return
		}
		for _, dir := range []string{"send", "recv"} {
			tr, err := o.tracks(dir)
			if err == nil && (len(tr) == 0 || len(tr) > 2) {
				t.Fatalf("%d tracks without error", len(tr))
			}
		}
		_, _ = parseOffer(restartOffer(s, "u", "p"))
	})
}

func FuzzWHIPParseFragment(f *testing.F) {
	f.Add("a=ice-ufrag:u\r\na=ice-pwd:p\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 1 typ host\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := parseFragment(s)
		if err != nil {
			return
		}
		for _, c := range fr.candidates {
			if !strings.HasPrefix(c.line, "candidate:") || c.index < 0 {
				t.Fatalf("candidate %+v", c)
			}
		}
	})
}
