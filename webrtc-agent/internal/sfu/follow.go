package sfu

// A consumer that cannot choose a layer itself (a recording, a mix, a streaming-out fed over
// a media link) asks for one simulcast layer, usually the largest. Publishers stop sending
// layers: a browser short of CPU or bandwidth drops its largest ones, sometimes for the rest
// of the session. Following keeps such a consumer on the layer it asked for while that layer
// flows and otherwise on the best flowing layer below it, moving back when it resumes.

// BestLayer returns the layer a follower of ceiling should send: ceiling itself while it
// flows (Track.Flowing), else the largest flowing or held (Track.SetHeld: the publisher
// paused it for want of receivers, and resumes it once the follower needs it) layer whose
// picture is not larger than ceiling's (by the size of their keyframes; among equal or unknown sizes the one with the
// highest rate), else nil (nothing flows: keep what is sent).
func BestLayer(layers []*Track, ceiling *Track) *Track {
	if ceiling.Flowing() {
		return ceiling
	}
	cw, ch := ceiling.Size()
	var best *Track
	bestArea, bestRate := -1, -1
	for _, l := range layers {
		if held, _ := l.Held(); l == ceiling || !l.Flowing() && !held {
			continue
		}
		w, h := l.Size()
		if cw*ch > 0 && w*h > cw*ch {
			continue // a larger picture than the one asked for
		}
		area, rate := w*h, l.Bitrate()
		if area > bestArea || area == bestArea && rate > bestRate {
			best, bestArea, bestRate = l, area, rate
		}
	}
	return best
}

// Follow re-points d to BestLayer(layers, ceiling) when that is not the source it sends or
// is switching to (a pending switch's keyframe is asked for again by the down-track itself,
// on every packet of the source it waits for). Call it periodically, e.g. every few hundred
// milliseconds: it is how a follower notices that a layer stopped or resumed.
//
// Follow also marks ceiling as wanted (Track.WantedWithin): a layer the publisher was asked
// to stop because no subscriber received it is asked for again while a follower wants it.
func Follow(d *DownTrack, layers []*Track, ceiling *Track) error {
	ceiling.wanted.Store(ceiling.now())
	best := BestLayer(layers, ceiling)
	if best == nil || best == d.Target() {
		return nil
	}
	return d.Switch(best)
}
