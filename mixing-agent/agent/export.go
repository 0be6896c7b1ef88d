package agent

import (
	"context"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// export issues a media-link ticket for an output track (rtc.export).
func (a *Agent) export(r protocol.RTCExport) (any, error) {
	if a.track(r.TrackID) == nil {
		return nil, errTrackNotFound(r.TrackID)
	}
	return a.link.Offer(r.TrackID)
}

// exporter attaches media links to output tracks (medialink.Exporter).
type exporter struct{ a *Agent }

var _ medialink.Exporter = exporter{}

// Export implements medialink.Exporter.
func (e exporter) Export(trackID string, l *medialink.Link) (medialink.Export, error) {
	o := e.a.track(trackID)
	if o == nil {
		return medialink.Export{}, errTrackNotFound(trackID)
	}
	exp, err := o.Attach(l)
	if err != nil {
		return medialink.Export{}, errTrackNotFound(trackID)
	}
	return exp, nil
}

// importTrack opens a media link to a source track: rtc.export on the agent holding it,
// then a dial with the ticket (pipeline.Importer).
func (a *Agent) importTrack(ctx context.Context, ref protocol.TrackRef) (*medialink.Link, medialink.TrackInfo, error) {
	return medialink.Import(ctx, a.bus, ref)
}
