package mkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Track types (RFC 9559 TrackType).
const (
	TrackVideo = 1
	TrackAudio = 2
)

// Codec IDs this package is used with.
const (
	CodecVP8  = "V_VP8"
	CodecVP9  = "V_VP9"
	CodecH264 = "V_MPEG4/ISO/AVC"
	CodecOpus = "A_OPUS"
)

// seekHeadReserve is the room kept after the Segment start for the SeekHead written at Close.
const seekHeadReserve = 96

// maxRelative is the largest block timestamp offset from its cluster (signed 16 bits).
const maxRelative = math.MaxInt16

// ErrClosed is returned by writes after Close or after a write error.
var ErrClosed = errors.New("mkv: writer closed")

// File is what the writer needs from its output: sequential writes for the media, positioned
// writes to patch sizes and the duration, and a durability barrier after every cluster.
type File interface {
	io.Writer
	io.WriterAt
	Sync() error
}

// Track describes one track of the file.
type Track struct {
	Number       uint64 // 1..126
	Type         int    // TrackVideo or TrackAudio
	CodecID      string
	CodecPrivate []byte
	Width        int     // video, 0 = unknown
	Height       int     // video, 0 = unknown
	SampleRate   float64 // audio
	Channels     int     // audio
	SeekPreRoll  time.Duration
}

// Options tune a Writer.
type Options struct {
	// App names the muxing and writing application.
	App string
	// ClusterDuration is the longest cluster; a new cluster also starts at each video
	// keyframe. Default 1 s.
	ClusterDuration time.Duration
}

// Writer writes one Matroska file with a 1 ms timestamp scale. Clusters are buffered in
// memory and written whole, with their exact size, then synced: a crash loses at most the
// cluster in progress. The Segment keeps an unknown size until Close.
type Writer struct {
	f    File
	opts Options
	err  error

	pos         int64 // bytes written so far
	segData     int64 // offset of the Segment payload
	segSizeAt   int64 // offset of the Segment size field
	durationAt  int64 // offset of the Duration float payload
	infoPos     int64 // Info offset relative to segData
	tracksPos   int64
	tracks      map[uint64]Track
	hasVideo    bool
	headerDone  bool
	cluster     []byte // payload of the cluster in progress
	clusterTS   int64
	clusterOpen bool
	clusterKey  bool // the open cluster starts with a video keyframe (a cue point)
	cues        []cue
	end         map[uint64]int64 // per track: last timestamp and frame spacing, for Duration
	last        map[uint64]int64
	duration    int64
}

type cue struct {
	ts    int64
	track uint64
	pos   int64 // cluster offset relative to segData
}

// NewWriter returns a writer on f; nothing is written before WriteHeader.
func NewWriter(f File, opts Options) *Writer {
	if opts.ClusterDuration <= 0 {
		opts.ClusterDuration = time.Second
	}
	if opts.App == "" {
		opts.App = "conclave"
	}
	return &Writer{f: f, opts: opts, tracks: map[uint64]Track{}, end: map[uint64]int64{}, last: map[uint64]int64{}}
}

// HeaderWritten reports whether WriteHeader succeeded.
func (w *Writer) HeaderWritten() bool { return w.headerDone }

// Duration returns the duration written so far, in milliseconds.
func (w *Writer) Duration() int64 { return w.duration }

// WriteHeader writes the EBML header, the Segment start, Info and Tracks.
func (w *Writer) WriteHeader(tracks []Track) error {
	if w.err != nil {
		return w.err
	}
	if w.headerDone {
		return errors.New("mkv: header already written")
	}
	if err := validateTracks(tracks); err != nil {
		return err
	}
	b := appendElement(nil, idEBML, ebmlHeader())
	b = appendID(b, idSegment)
	w.segSizeAt = int64(len(b))
	b = append(b, unknownSize...)
	w.segData = int64(len(b))
	b = appendVoid(b, seekHeadReserve)
	w.infoPos = int64(len(b)) - w.segData
	info, durAt := infoPayload(w.opts.App)
	b = appendID(b, idInfo)
	b = appendSize(b, uint64(len(info)))
	w.durationAt = int64(len(b)) + int64(durAt)
	b = append(b, info...)
	w.tracksPos = int64(len(b)) - w.segData
	b = appendElement(b, idTracks, tracksPayload(tracks))
	for _, t := range tracks {
		w.tracks[t.Number] = t
		w.hasVideo = w.hasVideo || t.Type == TrackVideo
	}
	if err := w.write(b); err != nil {
		return err
	}
	w.headerDone = true
	return nil
}

func validateTracks(tracks []Track) error {
	if len(tracks) == 0 {
		return errors.New("mkv: no tracks")
	}
	seen := map[uint64]bool{}
	for _, t := range tracks {
		if t.Number == 0 || t.Number > 126 || seen[t.Number] {
			return fmt.Errorf("mkv: bad track number %d", t.Number)
		}
		if (t.Type != TrackVideo && t.Type != TrackAudio) || t.CodecID == "" {
			return fmt.Errorf("mkv: track %d: bad type or codec", t.Number)
		}
		seen[t.Number] = true
	}
	return nil
}

func ebmlHeader() []byte {
	b := appendUint(nil, idEBMLVersion, 1)
	b = appendUint(b, idEBMLReadVersion, 1)
	b = appendUint(b, idEBMLMaxIDLength, 4)
	b = appendUint(b, idEBMLMaxSizeLength, 8)
	b = appendString(b, idDocType, "matroska")
	b = appendUint(b, idDocTypeVersion, 4)
	return appendUint(b, idDocTypeReadVersion, 2)
}

// infoPayload returns the Info payload and the offset of the Duration value inside it.
func infoPayload(app string) ([]byte, int) {
	b := appendUint(nil, idTimestampScale, uint64(time.Millisecond))
	b = appendString(b, idMuxingApp, app)
	b = appendString(b, idWritingApp, app)
	b = appendFloat(b, idDuration, 0)
	return b, len(b) - 8
}

func tracksPayload(tracks []Track) []byte {
	var out []byte
	for _, t := range tracks {
		b := appendUint(nil, idTrackNumber, t.Number)
		b = appendUint(b, idTrackUID, t.Number)
		b = appendUint(b, idTrackType, uint64(t.Type))
		b = appendUint(b, idFlagLacing, 0)
		b = appendString(b, idCodecID, t.CodecID)
		if len(t.CodecPrivate) > 0 {
			b = appendElement(b, idCodecPrivate, t.CodecPrivate)
		}
		if t.SeekPreRoll > 0 {
			b = appendUint(b, idCodecDelay, 0)
			b = appendUint(b, idSeekPreRoll, uint64(t.SeekPreRoll))
		}
		b = appendTrackDetail(b, t)
		out = appendElement(out, idTrackEntry, b)
	}
	return out
}

func appendTrackDetail(b []byte, t Track) []byte {
	if t.Type == TrackVideo {
		var v []byte
		if t.Width > 0 && t.Height > 0 {
			v = appendUint(v, idPixelWidth, uint64(t.Width))
			v = appendUint(v, idPixelHeight, uint64(t.Height))
		}
		return appendElement(b, idVideo, v)
	}
	a := appendFloat(nil, idSamplingFrequency, t.SampleRate)
	a = appendUint(a, idChannels, uint64(max(t.Channels, 1)))
	return appendElement(b, idAudio, a)
}

// WriteFrame adds one frame at ts milliseconds. Timestamps of one track must not decrease;
// a frame earlier than the open cluster is moved to the cluster's start.
func (w *Writer) WriteFrame(track uint64, ts int64, key bool, data []byte) error {
	if w.err != nil || !w.headerDone {
		return w.failed()
	}
	t, ok := w.tracks[track]
	if !ok {
		return fmt.Errorf("mkv: unknown track %d", track)
	}
	if ts < 0 {
		ts = 0
	}
	videoKey := key && t.Type == TrackVideo
	if w.clusterOpen && w.needNewCluster(ts, videoKey) {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if !w.clusterOpen {
		w.openCluster(ts, videoKey || (!w.hasVideo && key))
	}
	if ts < w.clusterTS {
		ts = w.clusterTS
	}
	w.appendBlock(track, ts, key, data)
	w.account(track, ts)
	return nil
}

func (w *Writer) needNewCluster(ts int64, videoKey bool) bool {
	return (videoKey && len(w.cluster) > 0) ||
		ts-w.clusterTS >= w.opts.ClusterDuration.Milliseconds() ||
		ts-w.clusterTS > maxRelative
}

func (w *Writer) openCluster(ts int64, cuePoint bool) {
	w.cluster = appendUint(w.cluster[:0], idTimestamp, uint64(ts))
	w.clusterTS, w.clusterOpen, w.clusterKey = ts, true, cuePoint
}

func (w *Writer) appendBlock(track uint64, ts int64, key bool, data []byte) {
	var flags byte
	if key {
		flags = 0x80
	}
	w.cluster = appendID(w.cluster, idSimpleBlock)
	w.cluster = appendSize(w.cluster, uint64(4+len(data)))
	w.cluster = appendSizeN(w.cluster, track, 1)
	w.cluster = binary.BigEndian.AppendUint16(w.cluster, uint16(int16(ts-w.clusterTS)))
	w.cluster = append(w.cluster, flags)
	w.cluster = append(w.cluster, data...)
}

// account tracks the file's duration: the latest timestamp plus that track's last spacing.
func (w *Writer) account(track uint64, ts int64) {
	if prev, ok := w.last[track]; ok && ts > prev {
		w.end[track] = ts - prev
	}
	w.last[track] = ts
	w.duration = max(w.duration, ts+w.end[track])
}

// Flush writes the cluster in progress, updates the Duration in place and syncs the file.
func (w *Writer) Flush() error {
	if w.err != nil || !w.headerDone {
		return w.failed()
	}
	if !w.clusterOpen {
		return nil
	}
	if w.clusterKey {
		w.cues = append(w.cues, cue{ts: w.clusterTS, track: w.cueTrack(), pos: w.pos - w.segData})
	}
	b := appendID(make([]byte, 0, len(w.cluster)+12), idCluster)
	b = appendSize(b, uint64(len(w.cluster)))
	b = append(b, w.cluster...)
	w.clusterOpen = false
	if err := w.write(b); err != nil {
		return err
	}
	if err := w.writeDuration(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.err = fmt.Errorf("mkv: sync: %w", err)
	}
	return w.err
}

// cueTrack is the track cues point at: the lowest-numbered video track, else the
// lowest-numbered track.
func (w *Writer) cueTrack() uint64 {
	best, bestVideo := uint64(0), false
	for n, t := range w.tracks {
		video := t.Type == TrackVideo
		if best == 0 || (video && !bestVideo) || (video == bestVideo && n < best) {
			best, bestVideo = n, video
		}
	}
	return best
}

func (w *Writer) writeDuration() error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.Float64bits(float64(w.duration)))
	if _, err := w.f.WriteAt(b[:], w.durationAt); err != nil {
		w.err = fmt.Errorf("mkv: write duration: %w", err)
	}
	return w.err
}

// Close flushes, writes the Cues, the SeekHead and the final Segment size. The file itself
// is not closed. A writer whose header was never written closes without writing anything.
func (w *Writer) Close() error {
	if !w.headerDone {
		if w.err == nil {
			w.err = ErrClosed
			return nil
		}
		return w.failed()
	}
	if err := w.Flush(); err != nil {
		return err
	}
	cuesPos := w.pos - w.segData
	if err := w.write(appendElement(nil, idCues, w.cuesPayload())); err != nil {
		return err
	}
	if err := w.patchTail(cuesPos); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("mkv: sync: %w", err)
	}
	w.err = ErrClosed
	return nil
}

func (w *Writer) cuesPayload() []byte {
	var b []byte
	for _, c := range w.cues {
		pos := appendUint(nil, idCueTrack, c.track)
		pos = appendUint(pos, idCueClusterPosition, uint64(c.pos))
		p := appendUint(nil, idCueTime, uint64(c.ts))
		p = appendElement(p, idCueTrackPositions, pos)
		b = appendElement(b, idCuePoint, p)
	}
	return b
}

// patchTail writes the SeekHead into the reserved room and the Segment's real size.
func (w *Writer) patchTail(cuesPos int64) error {
	var sh []byte
	for _, s := range []struct {
		id  uint32
		pos int64
	}{{idInfo, w.infoPos}, {idTracks, w.tracksPos}, {idCues, cuesPos}} {
		e := appendElement(nil, idSeekID, appendID(nil, s.id))
		e = appendUint(e, idSeekPosition, uint64(s.pos))
		sh = appendElement(sh, idSeek, e)
	}
	b := appendElement(nil, idSeekHead, sh)
	b = appendVoid(b, seekHeadReserve-len(b))
	if _, err := w.f.WriteAt(b, w.segData); err != nil {
		return fmt.Errorf("mkv: write seek head: %w", err)
	}
	size := appendSizeN(nil, uint64(w.pos-w.segData), 8)
	if _, err := w.f.WriteAt(size, w.segSizeAt); err != nil {
		return fmt.Errorf("mkv: write segment size: %w", err)
	}
	return nil
}

func (w *Writer) write(b []byte) error {
	n, err := w.f.Write(b)
	w.pos += int64(n)
	if err != nil {
		w.err = fmt.Errorf("mkv: write: %w", err)
	}
	return w.err
}

func (w *Writer) failed() error {
	switch {
	case w.err != nil:
		return w.err
	case !w.headerDone:
		return errors.New("mkv: header not written")
	default:
		return ErrClosed
	}
}
