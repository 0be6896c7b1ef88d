package pipeline

import (
	"context"
	"sync"
)

// Demand runs a pipeline only while it has consumers: the first Attach starts run in a
// goroutine, the last Detach cancels it. A new run waits for the previous one to have
// returned, so two runs never overlap. An idle Demand owns no goroutine.
type Demand struct {
	run func(ctx context.Context)

	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
	done   chan struct{} // closed when the latest run returned
	closed bool
	wg     sync.WaitGroup
}

// NewDemand returns an idle Demand for run, which must return soon after its ctx ends.
func NewDemand(run func(ctx context.Context)) *Demand { return &Demand{run: run} }

// Attach counts a consumer, starting the pipeline for the first; it returns false once
// Close was called.
func (d *Demand) Attach() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.n++
	if d.n > 1 {
		return true
	}
	prev := d.done
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	d.cancel, d.done = cancel, done
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		if ctx.Err() == nil {
			d.run(ctx)
		}
	}()
	return true
}

// Detach uncounts a consumer, stopping the pipeline after the last.
func (d *Demand) Detach() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == 0 {
		return
	}
	d.n--
	if d.n == 0 && d.cancel != nil {
		d.cancel()
	}
}

// Active reports whether the pipeline has consumers.
func (d *Demand) Active() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n > 0
}

// Close stops the pipeline, refuses new consumers and returns once every run returned.
func (d *Demand) Close() {
	d.mu.Lock()
	d.closed = true
	if d.cancel != nil {
		d.cancel()
	}
	d.mu.Unlock()
	d.wg.Wait()
}
