package medialink

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueueSize is the number of RTP packets a link buffers before dropping.
const DefaultQueueSize = 256

// writeTimeout bounds one blocked write: a peer that reads nothing for this long is gone.
const writeTimeout = 5 * time.Second

// keyframeGap is the minimum interval between two gap-triggered keyframe requests.
const keyframeGap = 500 * time.Millisecond

// maxPacket is the size of a queued buffer: any RTP packet from a WebRTC peer fits.
const maxPacket = 1500

// writeBuffer is the size of the buffered writer between the queue and the connection: frames
// taken off the queue wait here until a flush, so a stalled peer holds at most this much
// beyond the queue.
const writeBuffer = 32 * 1024

// Handler receives the frames a link reads. The payload is valid only during the call.
type Handler func(typ FrameType, payload []byte)

// Link is one established media link, exporter or importer side. SendRTP never blocks;
// Run moves queued frames to the connection and read frames to a handler.
type Link struct {
	conn     net.Conn
	reader   *FrameReader
	importer bool

	free  chan []byte // empty buffers
	queue chan []byte // encoded frames waiting to be written
	ctrl  chan []byte // control frames (keyframe, close), never dropped by media pressure

	dropped    atomic.Uint64
	done       chan struct{}
	closeOnce  sync.Once
	finishOnce sync.Once
	dlMu       sync.Mutex  // orders write-deadline changes with Close
	reason     string      // set by Close before done is closed
	running    atomic.Bool // Run owns the connection (its writer finishes it)

	// Importer gap detection, used only by the reading goroutine.
	haveSeq   bool
	lastSeq   uint16
	lastKFReq time.Time
}

// newLink wraps an established connection.
func newLink(conn net.Conn, reader *FrameReader, queueSize int, importer bool) *Link {
	if queueSize <= 0 {
		queueSize = DefaultQueueSize
	}
	l := &Link{
		conn: conn, reader: reader, importer: importer,
		free:  make(chan []byte, queueSize),
		queue: make(chan []byte, queueSize),
		ctrl:  make(chan []byte, 4),
		done:  make(chan struct{}),
	}
	for range queueSize {
		l.free <- make([]byte, 0, HeaderSize+maxPacket)
	}
	return l
}

// SendRTP queues one RTP packet. It returns false (and counts a drop) when the queue is
// full or the packet too large, so a slow peer never blocks the caller.
func (l *Link) SendRTP(pkt []byte) bool { return l.send(FrameRTP, pkt) }

// SendRTCP queues one RTCP packet like SendRTP.
func (l *Link) SendRTCP(pkt []byte) bool { return l.send(FrameRTCP, pkt) }

func (l *Link) send(typ FrameType, pkt []byte) bool {
	if len(pkt) > maxPacket {
		l.dropped.Add(1)
		return false
	}
	var buf []byte
	select {
	case buf = <-l.free:
	default:
		l.dropped.Add(1)
		return false
	}
	buf, _ = AppendFrame(buf[:0], typ, pkt)
	select {
	case l.queue <- buf:
		return true
	default: // cannot happen: queue and free have the same capacity
		l.free <- buf
		l.dropped.Add(1)
		return false
	}
}

// RequestKeyframe asks the exporter for a keyframe. It never blocks; a request while one is
// already queued is merged.
func (l *Link) RequestKeyframe() {
	select {
	case l.ctrl <- []byte{byte(FrameKeyframe), 0, 0}:
	default:
	}
}

// Dropped returns the number of packets dropped because the queue was full.
func (l *Link) Dropped() uint64 { return l.dropped.Load() }

// Done is closed when the link has ended.
func (l *Link) Done() <-chan struct{} { return l.done }

// Close ends the link, telling the peer why when possible. It is idempotent and never
// blocks for long: a writer stuck on a slow peer is released by a short write deadline.
func (l *Link) Close(reason string) {
	l.closeOnce.Do(func() {
		l.dlMu.Lock()
		l.reason = reason
		_ = l.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		close(l.done)
		l.dlMu.Unlock()
		if !l.running.Load() {
			l.finish()
		}
	})
}

// finish sends the close frame (best effort) and closes the connection; it runs once, in
// the writer goroutine or in Close when the link never ran.
func (l *Link) finish() {
	l.finishOnce.Do(func() {
		frame, _ := AppendFrame(nil, FrameClose, []byte(l.reason))
		_, _ = l.conn.Write(frame)
		_ = l.conn.Close()
	})
}

// Run writes queued frames and passes read frames to h until the link ends (peer closes,
// I/O error, Close or ctx). It returns nil when the peer closed the link cleanly.
func (l *Link) Run(ctx context.Context, h Handler) error {
	l.running.Store(true)
	select {
	case <-l.done: // closed before running
		l.finish()
		return nil
	default:
	}
	var wg sync.WaitGroup
	wg.Add(2)
	var readErr error
	go func() { defer wg.Done(); l.writeLoop() }()
	go func() { defer wg.Done(); readErr = l.readLoop(h) }()
	select {
	case <-ctx.Done():
		l.Close("shutdown")
	case <-l.done:
	}
	wg.Wait()
	return readErr
}

// readLoop reads until error or a close frame, then closes the link.
func (l *Link) readLoop(h Handler) error {
	defer l.Close("")
	for {
		typ, payload, err := l.reader.Next()
		if err != nil {
			select {
			case <-l.done:
				return nil
			default:
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("medialink: read: %w", err)
		}
		switch typ {
		case FrameClose:
			return nil
		case FrameRTP:
			if l.importer {
				l.checkGap(payload)
			}
		}
		h(typ, payload)
	}
}

// checkGap requests a keyframe when RTP sequence numbers jump (packets lost on the link or
// upstream), at most once per keyframeGap.
func (l *Link) checkGap(pkt []byte) {
	if len(pkt) < 12 {
		return
	}
	seq := binary.BigEndian.Uint16(pkt[2:4])
	gap := l.haveSeq && int16(seq-l.lastSeq) > 1
	if !l.haveSeq || int16(seq-l.lastSeq) > 0 {
		l.lastSeq, l.haveSeq = seq, true
	}
	if gap && time.Since(l.lastKFReq) >= keyframeGap {
		l.lastKFReq = time.Now()
		l.RequestKeyframe()
	}
}

// writeLoop drains the queues into a buffered writer, flushing when nothing is pending.
func (l *Link) writeLoop() {
	defer l.finish()
	w := bufio.NewWriterSize(l.conn, writeBuffer)
	for {
		var buf []byte
		select {
		case <-l.done:
			return
		case buf = <-l.ctrl:
		case buf = <-l.queue:
		}
		if err := l.write(w, buf); err != nil {
			l.Close("")
			return
		}
	}
}

// write writes buf and anything else already queued, then flushes.
func (l *Link) write(w *bufio.Writer, buf []byte) error {
	for {
		if err := l.extendDeadline(); err != nil {
			return err
		}
		_, err := w.Write(buf)
		l.recycle(buf)
		if err != nil {
			return err
		}
		select {
		case buf = <-l.ctrl:
			continue
		case buf = <-l.queue:
			continue
		default:
		}
		return w.Flush()
	}
}

// extendDeadline gives the next write writeTimeout, unless Close already shortened it.
func (l *Link) extendDeadline() error {
	l.dlMu.Lock()
	defer l.dlMu.Unlock()
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	return l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
}

// recycle returns a media buffer to the free list; control frames are not pooled.
func (l *Link) recycle(buf []byte) {
	if cap(buf) < HeaderSize+maxPacket {
		return
	}
	select {
	case l.free <- buf:
	default:
	}
}
