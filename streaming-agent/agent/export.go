package agent

import (
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/in"
)

// track finds a streaming-in track by id.
func (a *Agent) track(id string) *in.Track {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, j := range a.ins {
		if t := j.Track(id); t != nil {
			return t
		}
	}
	return nil
}

// export issues a media-link ticket for a streaming-in track (rtc.export).
func (a *Agent) export(r protocol.RTCExport) (any, error) {
	if a.track(r.TrackID) == nil {
		return nil, errTrackNotFound(r.TrackID)
	}
	return a.link.Offer(r.TrackID)
}

// exporter attaches media links to streaming-in tracks (medialink.Exporter).
type exporter struct{ a *Agent }

var _ medialink.Exporter = exporter{}

// Export implements medialink.Exporter.
func (e exporter) Export(trackID string, l *medialink.Link) (medialink.Export, error) {
	t := e.a.track(trackID)
	if t == nil {
		return medialink.Export{}, errTrackNotFound(trackID)
	}
	return t.Attach(l), nil
}
