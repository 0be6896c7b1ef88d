package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/pion/rtp"
)

// Importer opens a media link to a source track: rtc.export on the agent holding it, then a
// dial with the ticket. The link is not running yet.
type Importer func(ctx context.Context, ref protocol.TrackRef) (*medialink.Link, medialink.TrackInfo, error)

// ErrLinkClosed is returned by an input whose source closed its link.
var ErrLinkClosed = errors.New("pipeline: source closed the media link")

// ErrUnsupportedCodec is returned for a source whose codec cannot be decoded.
var ErrUnsupportedCodec = errors.New("pipeline: unsupported codec")

// importTimeout bounds one rtc.export call plus the media-link handshake.
const importTimeout = 3 * time.Second

// frameSink consumes the frames of one import; Data is valid only during the call.
type frameSink interface {
	// open checks the source's codec and prepares decoding (called once, before frames).
	open(info medialink.TrackInfo, codec rtpframe.Codec) error
	// frame decodes one frame; false means the decoder lost its references and needs a
	// keyframe.
	frame(f rtpframe.Frame) bool
	close()
}

// runImport imports ref and feeds its frames to sink until the link ends or ctx ends. Frames
// are assembled by rtpframe, which asks the source for keyframes; a long wait for one is
// logged on log (nil: not logged).
func runImport(ctx context.Context, imp Importer, ref protocol.TrackRef, kind string, sink frameSink, log *slog.Logger) error {
	ictx, cancel := context.WithTimeout(ctx, importTimeout)
	link, info, err := imp(ictx, ref)
	cancel()
	if err != nil {
		return err
	}
	defer link.Close("input removed")
	if info.Kind != kind {
		return fmt.Errorf("%w: track %s is %s, not %s", ErrUnsupportedCodec, ref.TrackID, info.Kind, kind)
	}
	c, err := rtpframe.CodecOf(info.MimeType)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupportedCodec, err)
	}
	if err := sink.open(info, c); err != nil {
		return err
	}
	defer sink.close()
	dp := rtpframe.New(c, rtpframe.Options{Keyframe: link.RequestKeyframe, Stalled: stallLogger(log, ref)})
	var pkt rtp.Packet
	var now time.Time
	emit := func(f rtpframe.Frame) {
		if !sink.frame(f) {
			dp.Resync(now)
		}
	}
	link.RequestKeyframe()
	err = link.Run(ctx, func(typ medialink.FrameType, payload []byte) {
		if typ != medialink.FrameRTP || pkt.Unmarshal(payload) != nil {
			return
		}
		now = time.Now()
		dp.Push(&pkt, now, emit)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = ErrLinkClosed
	}
	return err
}

// stallLogger logs an input's long waits for a keyframe.
func stallLogger(log *slog.Logger, ref protocol.TrackRef) func(rtpframe.Stall) {
	if log == nil {
		return nil
	}
	log = log.With("track", ref.TrackID)
	return func(s rtpframe.Stall) {
		if s.Recovered {
			log.Info("input keyframe arrived after a long wait", "waited", s.Waited, "requests", s.Requests, "dropped", s.Dropped)
			return
		}
		// Info, not a warning: a source late with its keyframe is the publisher's network or
		// encoder, nothing an operator of this server can act on (issue 21).
		log.Info("input waiting for a keyframe", "waited", s.Waited, "requests", s.Requests, "dropped", s.Dropped)
	}
}
