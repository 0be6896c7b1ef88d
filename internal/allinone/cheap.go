package allinone

import (
	conference "github.com/conclave-rtc/conclave/conference-agent/agent"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/prometheus/client_golang/prometheus"
)

// cHeapCollector exports the C allocator's statistics and the open codec contexts of the
// process (the mixing agent's libvpx, x264, libavcodec and libopus), next to the Go runtime's
// go_memstats_*: together they tell memory the Go heap holds from memory C code holds.
// It also exports the conference agent's live rooms: rooms nobody uses any more must end.
type cHeapCollector struct {
	system, inUse, free, mmapped, contexts, rooms *prometheus.Desc
	conf                                          *conference.Agent
}

func newCHeapCollector(conf *conference.Agent) *cHeapCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("conclave_"+name, help, labels, nil)
	}
	return &cHeapCollector{
		system:   d("c_heap_system_bytes", "Bytes glibc malloc holds from the operating system (arenas and mmap'd chunks)."),
		inUse:    d("c_heap_inuse_bytes", "Bytes allocated by C code and not freed."),
		free:     d("c_heap_free_bytes", "Bytes freed by C code that malloc still holds."),
		mmapped:  d("c_heap_mmapped_bytes", "Bytes of C allocations mmap'd individually."),
		contexts: d("codec_contexts", "Codec contexts open in the mixing agent, by kind.", "kind"),
		rooms:    d("conference_live_rooms", "Rooms the conference agent runs (joined, or empty within their clean grace)."),
		conf:     conf,
	}
}

func (c *cHeapCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.system, c.inUse, c.free, c.mmapped, c.contexts, c.rooms} {
		ch <- d
	}
}

func (c *cHeapCollector) Collect(ch chan<- prometheus.Metric) {
	h := codec.CHeapStats()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	g(c.system, float64(h.System))
	g(c.inUse, float64(h.InUse))
	g(c.free, float64(h.Free))
	g(c.mmapped, float64(h.Mmapped))
	l := codec.LiveContexts()
	g(c.contexts, float64(l.VideoDecoders), "video_decoder")
	g(c.contexts, float64(l.VideoEncoders), "video_encoder")
	g(c.contexts, float64(l.OpusDecoders), "opus_decoder")
	g(c.contexts, float64(l.OpusEncoders), "opus_encoder")
	if c.conf != nil {
		g(c.rooms, float64(c.conf.LiveRooms()))
	}
}
