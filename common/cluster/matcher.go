package cluster

import "slices"

// matcher narrows the available workers of a purpose by the task's preference (OWT
// cluster_manager matcher.js).
type matcher func(pref Preference, candidates []Worker) []Worker

// matcherFor returns the matcher OWT uses for purpose: portal, webrtc, streaming and audio
// workers are matched by ISP and region; every other purpose takes any worker.
func matcherFor(purpose string) matcher {
	switch purpose {
	case PurposePortal, PurposeWebRTC, PurposeStreaming, "audio":
		return matchLocation
	default:
		return matchAny
	}
}

// matchAny keeps every candidate.
func matchAny(_ Preference, candidates []Worker) []Worker { return candidates }

// matchLocation keeps the workers that serve pref.ISP (or any ISP); if some of those are in
// pref.Region, only they are kept (OWT's "sweet" set).
func matchLocation(pref Preference, candidates []Worker) []Worker {
	var fit, sweet []Worker
	for _, w := range candidates {
		if len(w.ISPs) != 0 && !slices.Contains(w.ISPs, pref.ISP) {
			continue
		}
		fit = append(fit, w)
		if slices.Contains(w.Regions, pref.Region) {
			sweet = append(sweet, w)
		}
	}
	if len(sweet) > 0 {
		return sweet
	}
	return fit
}
