package pipeline

import (
	"context"
	"errors"
	"fmt"
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
	frame(f rtpframe.Frame, keyframe func())
	close()
}

// runImport imports ref and feeds its frames to sink until the link ends or ctx ends.
func runImport(ctx context.Context, imp Importer, ref protocol.TrackRef, kind string, sink frameSink) error {
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
	dp := rtpframe.New(c, 0, link.RequestKeyframe)
	emit := func(f rtpframe.Frame) { sink.frame(f, link.RequestKeyframe) }
	var pkt rtp.Packet
	link.RequestKeyframe()
	err = link.Run(ctx, func(typ medialink.FrameType, payload []byte) {
		if typ != medialink.FrameRTP || pkt.Unmarshal(payload) != nil {
			return
		}
		dp.Push(&pkt, time.Now(), emit)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = ErrLinkClosed
	}
	return err
}
