package medialink

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMediaLinkTicketConcurrentRedeem redeems one ticket from 50 goroutines at once: the
// one-use check must let exactly one through, the others see ErrTicketReused.
func TestMediaLinkTicketConcurrentRedeem(t *testing.T) {
	tk, err := NewTicketer(testSecret, 30*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tk.Issue("track-1")
	if err != nil {
		t.Fatal(err)
	}
	var won, reused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			_, err := tk.Redeem(s)
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, ErrTicketReused):
				reused.Add(1)
			default:
				t.Errorf("Redeem = %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if won.Load() != 1 || reused.Load() != 49 {
		t.Fatalf("%d redeemed, %d reused; want 1 and 49", won.Load(), reused.Load())
	}
}

// TestMediaLinkForgedTicketOverTheWire dials a server with tickets an attacker could make
// from a genuine one: a flipped MAC bit, another track under the same MAC, a later expiry.
// Every dial is rejected, and the genuine ticket still works afterwards (failed attempts do
// not consume it).
func TestMediaLinkForgedTicketOverTheWire(t *testing.T) {
	s := startServer(t, &fakeExporter{})
	good, err := s.Issue("track-1")
	if err != nil {
		t.Fatal(err)
	}
	forge := func(change func(*Ticket)) string {
		p, err := ParseTicket(good)
		if err != nil {
			t.Fatal(err)
		}
		p.MAC = append([]byte(nil), p.MAC...)
		change(&p)
		return p.String()
	}
	forged := map[string]string{
		"flipped MAC bit": forge(func(p *Ticket) { p.MAC[0] ^= 1 }),
		"other track":     forge(func(p *Ticket) { p.TrackID = "track-2" }),
		"later expiry":    forge(func(p *Ticket) { p.Expiry = p.Expiry.Add(time.Hour) }),
		"empty MAC":       forge(func(p *Ticket) { p.MAC = nil }),
	}
	ctx := context.Background()
	for name, ticket := range forged {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Dial(ctx, s.Addr(), ticket, 0); !errors.Is(err, ErrRejected) {
				t.Fatalf("Dial = %v, want ErrRejected", err)
			}
		})
	}
	l, _, err := Dial(ctx, s.Addr(), good, 0)
	if err != nil {
		t.Fatalf("genuine ticket after forgeries: %v", err)
	}
	l.Close("bye")
}
