package codec

/*
#include <malloc.h>
#include <stddef.h>

// cv_mallinfo fills out with glibc's malloc statistics summed over every arena: bytes
// obtained with brk/sbrk and in arenas (arena), in mmap'd chunks (hblkhd), in use (uordblks),
// free but kept (fordblks) and releasable from the top of the main heap (keepcost).
static void cv_mallinfo(size_t out[5]) {
	struct mallinfo2 mi = mallinfo2();
	out[0] = mi.arena;
	out[1] = mi.hblkhd;
	out[2] = mi.uordblks;
	out[3] = mi.fordblks;
	out[4] = mi.keepcost;
}

// cv_fix_mmap_threshold sets malloc's mmap threshold to its default, 128 KiB, which also
// turns off glibc's dynamic threshold (see TuneCHeap).
static int cv_fix_mmap_threshold(void) { return mallopt(M_MMAP_THRESHOLD, 128 * 1024); }
*/
import "C"

import (
	"sync"
	"sync/atomic"
)

// CHeap is the C allocator's view of the process (glibc malloc, every arena): what the
// codec libraries, cgo and any other C code allocated.
type CHeap struct {
	// System is what malloc holds from the operating system: arenas plus mmap'd chunks.
	System uint64
	// InUse is allocated and not yet freed.
	InUse uint64
	// Free is freed but still held (fragmentation, or not yet trimmed).
	Free uint64
	// Mmapped is the part of System in chunks mmap'd individually (returned on free).
	Mmapped uint64
}

// CHeapStats reads glibc's malloc statistics (mallinfo2). It walks every arena under their
// locks: cheap enough for a metrics scrape, not for a packet path.
func CHeapStats() CHeap {
	var v [5]C.size_t
	C.cv_mallinfo(&v[0])
	return CHeap{
		System:  uint64(v[0]) + uint64(v[1]),
		InUse:   uint64(v[2]) + uint64(v[1]),
		Free:    uint64(v[3]),
		Mmapped: uint64(v[1]),
	}
}

var tuned = sync.OnceValue(func() bool { return C.cv_fix_mmap_threshold() == 1 })

// TuneCHeap keeps glibc from holding the codecs' large buffers after they are freed; the
// mixing agent calls it once at start (it sets a process-wide malloc option).
//
// By default glibc serves allocations of 128 KiB and more with their own mmap and returns
// them at free, but the first time such a chunk is freed it raises that threshold to the
// chunk's size (up to 32 MiB). From then on the codecs' frame buffers and tables (hundreds of
// KiB to a few MiB each, allocated when a pipeline starts) come from the heap arenas of
// whatever threads the pipelines' goroutines ran on, and freeing them leaves free space
// inside arenas that glibc does not give back: an outside soak saw the process's RSS rise by
// 30-40 MiB with each round of mixed views and stay there (issue 21). A fixed threshold keeps
// them mmap'd. It reports whether glibc accepted the option.
func TuneCHeap() bool { return tuned() }

// TrimCHeap returns freed C memory of every arena to the operating system (malloc_trim):
// glibc otherwise keeps the free pages of its per-thread arenas, and the codec libraries free
// megabytes of frame buffers when a session ends.
func TrimCHeap() { C.malloc_trim(0) }

// Live counts the codec contexts open now, by kind: a context created and never closed shows
// here as a count that does not come back to zero.
type Live struct {
	VideoDecoders, VideoEncoders, OpusDecoders, OpusEncoders int64
}

var live struct {
	videoDec, videoEnc, opusDec, opusEnc atomic.Int64
}

// LiveContexts returns the codec contexts open now.
func LiveContexts() Live {
	return Live{
		VideoDecoders: live.videoDec.Load(), VideoEncoders: live.videoEnc.Load(),
		OpusDecoders: live.opusDec.Load(), OpusEncoders: live.opusEnc.Load(),
	}
}
