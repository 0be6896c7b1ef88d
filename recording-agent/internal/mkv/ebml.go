// Package mkv writes Matroska files (RFC 9559) incrementally, so that a file cut at any moment
// stays playable up to its last flushed cluster.
package mkv

import (
	"encoding/binary"
	"math"
)

// Element IDs used by the writer (RFC 8794 for EBML, RFC 9559 for Matroska).
const (
	idEBML               = 0x1A45DFA3
	idEBMLVersion        = 0x4286
	idEBMLReadVersion    = 0x42F7
	idEBMLMaxIDLength    = 0x42F2
	idEBMLMaxSizeLength  = 0x42F3
	idDocType            = 0x4282
	idDocTypeVersion     = 0x4287
	idDocTypeReadVersion = 0x4285
	idVoid               = 0xEC

	idSegment      = 0x18538067
	idSeekHead     = 0x114D9B74
	idSeek         = 0x4DBB
	idSeekID       = 0x53AB
	idSeekPosition = 0x53AC

	idInfo           = 0x1549A966
	idTimestampScale = 0x2AD7B1
	idMuxingApp      = 0x4D80
	idWritingApp     = 0x5741
	idDuration       = 0x4489

	idTracks            = 0x1654AE6B
	idTrackEntry        = 0xAE
	idTrackNumber       = 0xD7
	idTrackUID          = 0x73C5
	idTrackType         = 0x83
	idFlagLacing        = 0x9C
	idCodecID           = 0x86
	idCodecPrivate      = 0x63A2
	idCodecDelay        = 0x56AA
	idSeekPreRoll       = 0x56BB
	idVideo             = 0xE0
	idPixelWidth        = 0xB0
	idPixelHeight       = 0xBA
	idAudio             = 0xE1
	idSamplingFrequency = 0xB5
	idChannels          = 0x9F

	idCluster     = 0x1F43B675
	idTimestamp   = 0xE7
	idSimpleBlock = 0xA3

	idCues               = 0x1C53BB6B
	idCuePoint           = 0xBB
	idCueTime            = 0xB3
	idCueTrackPositions  = 0xB7
	idCueTrack           = 0xF7
	idCueClusterPosition = 0xF1
)

// unknownSize is the 8-byte EBML "unknown size" marker (all value bits set), used for the
// Segment while the file grows.
var unknownSize = []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// appendID appends an element ID; IDs keep their length marker, so their big-endian bytes
// without leading zeros are the encoding.
func appendID(b []byte, id uint32) []byte {
	switch {
	case id >= 1<<24:
		return append(b, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id >= 1<<16:
		return append(b, byte(id>>16), byte(id>>8), byte(id))
	case id >= 1<<8:
		return append(b, byte(id>>8), byte(id))
	default:
		return append(b, byte(id))
	}
}

// appendSize appends v as the shortest EBML variable-length integer (not the all-ones
// reserved value of its length).
func appendSize(b []byte, v uint64) []byte {
	n := 1
	for n < 8 && v >= (1<<(7*n))-1 {
		n++
	}
	return appendSizeN(b, v, n)
}

// appendSizeN appends v as an n-byte EBML variable-length integer.
func appendSizeN(b []byte, v uint64, n int) []byte {
	v |= 1 << (7 * n)
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// appendElement appends a complete element with a binary payload.
func appendElement(b []byte, id uint32, payload []byte) []byte {
	b = appendID(b, id)
	b = appendSize(b, uint64(len(payload)))
	return append(b, payload...)
}

// appendUint appends an unsigned integer element in its shortest form.
func appendUint(b []byte, id uint32, v uint64) []byte {
	n := 1
	for n < 8 && v>>(8*n) != 0 {
		n++
	}
	b = appendID(b, id)
	b = appendSize(b, uint64(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// appendFloat appends an 8-byte float element.
func appendFloat(b []byte, id uint32, v float64) []byte {
	b = appendID(b, id)
	b = appendSize(b, 8)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

// appendString appends a string element.
func appendString(b []byte, id uint32, s string) []byte {
	return appendElement(b, id, []byte(s))
}

// appendVoid appends a Void element occupying exactly n bytes in total (n >= 2).
func appendVoid(b []byte, n int) []byte {
	b = append(b, idVoid)
	if n-2 <= 126 {
		b = appendSizeN(b, uint64(n-2), 1)
		return append(b, make([]byte, n-2)...)
	}
	b = appendSizeN(b, uint64(n-9), 8)
	return append(b, make([]byte, n-9)...)
}
