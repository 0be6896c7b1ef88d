package e2eutil

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// WHIPClientBin is Debian's simple-whip-client (GStreamer webrtcbin): a WHIP publisher
// nobody here wrote.
const WHIPClientBin = "whip-client"

// WHIPPipelines are GStreamer pipelines for whip-client: a moving test pattern and a
// 440 Hz tone, encoded as Opus and as VP8 or H.264 (constrained baseline).
func WHIPPipelines(video string) (audioPipe, videoPipe string) {
	audioPipe = "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! queue ! " +
		"opusenc ! rtpopuspay pt=111 ! queue ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111"
	enc, pay, name := "vp8enc deadline=1 keyframe-max-dist=30", "rtpvp8pay pt=96", "VP8"
	if video == "h264" {
		enc, pay, name = "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! video/x-h264,profile=constrained-baseline",
			"rtph264pay pt=102 config-interval=-1 aggregate-mode=zero-latency", "H264"
	}
	videoPipe = "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! queue ! " +
		enc + " ! " + pay + " ! queue ! application/x-rtp,media=video,encoding-name=" + name + ",payload=" + map[string]string{"VP8": "96", "H264": "102"}[name]
	return audioPipe, videoPipe
}

// whipClientShim builds testdata/whip-client-shim/shim.c (see its comment: libnice gathers
// no loopback candidate, and Debian 12's client aborts on a libsoup 2/3 clash) into a
// directory of the test.
func whipClientShim(t testing.TB) string {
	t.Helper()
	shim := filepath.Join(t.TempDir(), "libgupnp-igd-1.0.so.4")
	src := filepath.Join(RepoRoot(), "internal", "e2eutil", "testdata", "whip-client-shim", "shim.c")
	out, err := exec.Command("cc", "-shared", "-fPIC", "-O2", "-Wall", "-o", shim, src,
		"-Wl,-soname,libgupnp-igd-1.0.so.4", "-l:libgobject-2.0.so.0", "-ldl").CombinedOutput()
	if err != nil {
		t.Fatalf("build the whip-client shim: %v\n%s", err, out)
	}
	return shim
}

// StartWHIPClient runs whip-client publishing the test pattern and tone (video "vp8" or
// "h264") to url with token, trickling its candidates by PATCH. It must run in a
// loopback-only network namespace, like every test. StopWHIPClient ends it with its DELETE.
func StartWHIPClient(t testing.TB, url, token, video string) *Proc {
	t.Helper()
	Need(t, WHIPClientBin+" (apt-get install simple-whip-client) and cc", OnPath(WHIPClientBin, "cc"))
	shim := whipClientShim(t)
	a, v := WHIPPipelines(video)
	return Start(t, WHIPClientBin, []string{"-u", url, "-t", token, "-A", a, "-V", v, "-o", "-l", "4"},
		"LD_PRELOAD="+shim, "LD_LIBRARY_PATH="+filepath.Dir(shim))
}

// StopWHIPClient interrupts whip-client as Ctrl-C would: it sends its DELETE and exits.
func StopWHIPClient(p *Proc) {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	<-p.exited
}
