package storetest

import (
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

// BenchOpener is Opener for benchmarks.
type BenchOpener func(b *testing.B) store.Store

// Bench runs the shared benchmarks: reads of a service (with decryption of its key and its
// room list) and of a room among a few others, token create+consume, and lease renewal.
func Bench(b *testing.B, open BenchOpener) {
	b.Run("GetService", func(b *testing.B) { benchGetService(b, open(b)) })
	b.Run("GetRoom", func(b *testing.B) { benchGetRoom(b, open(b)) })
	b.Run("CreateConsumeToken", func(b *testing.B) { benchToken(b, open(b)) })
	b.Run("RenewLease", func(b *testing.B) { benchLease(b, open(b)) })
}

// benchFixture creates one service with rooms rooms and returns it and the last room.
func benchFixture(b *testing.B, s store.Store, rooms int) (store.Service, store.Room) {
	svc := mustCreateService(b, s)
	var r store.Room
	for range rooms {
		r = mustCreateRoom(b, s, svc.ID)
	}
	return svc, r
}

func benchGetService(b *testing.B, s store.Store) {
	svc, _ := benchFixture(b, s, 10)
	c := ctx(b)
	for b.Loop() {
		if _, err := s.GetService(c, svc.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGetRoom(b *testing.B, s store.Store) {
	svc, r := benchFixture(b, s, 10)
	c := ctx(b)
	for b.Loop() {
		if _, err := s.GetRoom(c, svc.ID, r.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func benchToken(b *testing.B, s store.Store) {
	c := ctx(b)
	for b.Loop() {
		tok := newToken(time.Now())
		if err := s.CreateToken(c, tok); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ConsumeToken(c, tok.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLease(b *testing.B, s store.Store) {
	c := ctx(b)
	name := "room-" + ids.ObjectID()
	for b.Loop() {
		if _, err := s.AcquireLease(c, name, "agent-a", time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
