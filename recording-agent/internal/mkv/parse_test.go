package mkv

import (
	"errors"
	"fmt"
)

// element is one parsed EBML element (test helper: reads back what the writer wrote).
type element struct {
	id       uint32
	offset   int64
	data     []byte
	children []element
	unknown  bool
}

var masters = map[uint32]bool{idEBML: true, idSegment: true, idSeekHead: true, idSeek: true, idInfo: true,
	idTracks: true, idTrackEntry: true, idVideo: true, idAudio: true, idCluster: true, idCues: true,
	idCuePoint: true, idCueTrackPositions: true}

var errParse = errors.New("parse error")

func readVint(b []byte, keepMarker bool) (uint64, int, error) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0, fmt.Errorf("%w: bad vint", errParse)
	}
	n := 1
	for b[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if len(b) < n {
		return 0, 0, fmt.Errorf("%w: short vint", errParse)
	}
	v := uint64(b[0])
	if !keepMarker {
		v &^= 0x80 >> (n - 1)
	}
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n, nil
}

// parse reads the elements of b (base is b's offset in the file); an unknown-size master
// extends to the end of b.
func parse(b []byte, base int64) ([]element, error) {
	var out []element
	for p := 0; p < len(b); {
		id, n, err := readVint(b[p:], true)
		if err != nil || n > 4 {
			return out, fmt.Errorf("%w at %d: id", errParse, base+int64(p))
		}
		size, m, err := readVint(b[p+n:], false)
		if err != nil {
			return out, fmt.Errorf("%w at %d: size", errParse, base+int64(p))
		}
		start := p + n + m
		unknown := size == (1<<(7*m))-1
		if unknown {
			size = uint64(len(b) - start)
		}
		if uint64(len(b)-start) < size {
			return out, fmt.Errorf("%w at %d: element %x overflows", errParse, base+int64(p), id)
		}
		e := element{id: uint32(id), offset: base + int64(p), data: b[start : start+int(size)], unknown: unknown}
		if masters[e.id] {
			if e.children, err = parse(e.data, base+int64(start)); err != nil {
				return out, err
			}
		}
		out = append(out, e)
		p = start + int(size)
	}
	return out, nil
}

func find(es []element, id uint32) []element {
	var out []element
	for _, e := range es {
		if e.id == id {
			out = append(out, e)
		}
	}
	return out
}

func uintOf(e element) uint64 {
	var v uint64
	for _, c := range e.data {
		v = v<<8 | uint64(c)
	}
	return v
}
