package cluster

import (
	"slices"
	"testing"
)

func TestClusterMatcher(t *testing.T) {
	pool := []Worker{
		{ID: "any"},
		{ID: "isp1", ISPs: []string{"isp1"}},
		{ID: "isp2-r1", ISPs: []string{"isp2"}, Regions: []string{"r1"}},
		{ID: "any-r1", Regions: []string{"r1", "r2"}},
		{ID: "isp1-r2", ISPs: []string{"isp1", "isp3"}, Regions: []string{"r2"}},
	}
	tests := []struct {
		name    string
		purpose string
		pref    Preference
		want    []string
	}{
		{"no preference keeps any-isp workers", PurposePortal, Preference{}, []string{"any", "any-r1"}},
		{"isp filters", PurposeWebRTC, Preference{ISP: "isp1"}, []string{"any", "isp1", "any-r1", "isp1-r2"}},
		{"sweet region wins", PurposeStreaming, Preference{ISP: "isp1", Region: "r2"}, []string{"any-r1", "isp1-r2"}},
		{"sweet set respects isp", "audio", Preference{ISP: "isp3", Region: "r1"}, []string{"any-r1"}},
		{"unknown region falls back to isp set", PurposePortal, Preference{ISP: "isp2", Region: "r9"}, []string{"any", "isp2-r1", "any-r1"}},
		{"region without isp", PurposePortal, Preference{Region: "r1"}, []string{"any-r1"}},
		{"unmatched isp leaves open workers", PurposePortal, Preference{ISP: "isp9"}, []string{"any", "any-r1"}},
		{"conference ignores preference", PurposeConference, Preference{ISP: "isp9", Region: "r1"}, []string{"any", "isp1", "isp2-r1", "any-r1", "isp1-r2"}},
		{"recording ignores preference", PurposeRecording, Preference{ISP: "isp1"}, []string{"any", "isp1", "isp2-r1", "any-r1", "isp1-r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, w := range matcherFor(tt.purpose)(tt.pref, pool) {
				got = append(got, w.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("matched %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClusterMatcherOnlyRestrictedWorkers(t *testing.T) {
	pool := []Worker{{ID: "x", ISPs: []string{"isp1"}}}
	if got := matchLocation(Preference{ISP: "isp2"}, pool); len(got) != 0 {
		t.Fatalf("matched %v, want none", got)
	}
}
