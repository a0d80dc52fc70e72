package sesmailer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose sleeps advance it instead of waiting, recording each sleep.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock {
	// Real time as the start so context deadlines (which use the real clock) compare sensibly.
	return &fakeClock{t: time.Now()}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

func near(a, b time.Duration) bool {
	d := a - b
	return d > -time.Millisecond && d < time.Millisecond
}

func TestLimiterPacesToRate(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(2, clk.now, clk.sleep) // 2/s: a bucket of 2, then one every 500 ms
	start := clk.now()
	for i := 0; i < 6; i++ {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}
	// 6 sends at 2/s starting with a full bucket of 2: the last one goes at 2 s.
	if got := clk.now().Sub(start); !near(got, 2*time.Second) {
		t.Fatalf("6 sends at 2/s took %s of fake time, want 2s (sleeps %v)", got, clk.sleeps())
	}
	for i, d := range clk.sleeps() {
		if !near(d, 500*time.Millisecond) {
			t.Fatalf("sleep %d = %s, want 500ms (all: %v)", i, d, clk.sleeps())
		}
	}
}

func TestLimiterIdleRefillsOnlyToBurst(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(1, clk.now, clk.sleep)
	_ = l.Wait(t.Context())
	clk.advance(time.Hour) // an idle hour must not bank 3,600 sends
	before := len(clk.sleeps())
	for i := 0; i < 3; i++ {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	s := clk.sleeps()[before:]
	if len(s) != 2 || !near(s[0], time.Second) || !near(s[1], time.Second) {
		t.Fatalf("after idling, 3 sends at 1/s slept %v, want [1s 1s] (burst of one)", s)
	}
}

func TestLimiterSetRateAndPenalize(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(1, clk.now, clk.sleep)
	_ = l.Wait(t.Context()) // bucket empty
	l.SetRate(10)
	if got := l.Rate(); got != 10 {
		t.Fatalf("Rate after SetRate(10) = %v", got)
	}
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := clk.sleeps(); len(s) != 1 || !near(s[0], 100*time.Millisecond) {
		t.Fatalf("at 10/s an empty bucket waits 100ms, slept %v", s)
	}
	l.Penalize(2 * time.Second)
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := clk.sleeps(); len(s) != 2 || !near(s[1], 2100*time.Millisecond) {
		t.Fatalf("after a 2s penalty the next send waits 2.1s, slept %v", s)
	}
	l.SetRate(0) // a zero quota must not stop mail for good, nor divide by zero
	if got := l.Rate(); got != minRate {
		t.Fatalf("Rate after SetRate(0) = %v, want %v", got, minRate)
	}
}

func TestLimiterRefusesTurnPastDeadline(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(0.5, clk.now, clk.sleep) // one send every 2 s
	ctx, cancel := context.WithDeadline(t.Context(), clk.now().Add(3*time.Second))
	defer cancel()
	if err := l.Wait(ctx); err != nil { // from the full bucket
		t.Fatal(err)
	}
	if err := l.Wait(ctx); err != nil { // 2 s later: before the deadline
		t.Fatal(err)
	}
	err := l.Wait(ctx) // its turn would be at 4 s, after the 3 s deadline
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("third wait = %v, want ErrDeadline", err)
	}
	// The refused caller took no turn: without the deadline the next turn is still 2 s away.
	before := len(clk.sleeps())
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := clk.sleeps()[before:]; len(s) != 1 || !near(s[0], 2*time.Second) {
		t.Fatalf("after a refused turn the next waits %v, want [2s]", s)
	}
}

func TestLimiterCancelledWaitReturnsItsTurn(t *testing.T) {
	clk := newFakeClock()
	cancelled := errors.New("cancelled")
	sleeps := 0
	l := NewLimiter(1, clk.now, func(ctx context.Context, d time.Duration) error {
		sleeps++
		if sleeps == 1 {
			return cancelled // the first waiter gives up without time passing
		}
		return clk.sleep(ctx, d)
	})
	_ = l.Wait(t.Context()) // bucket empty
	if err := l.Wait(t.Context()); !errors.Is(err, cancelled) {
		t.Fatalf("wait = %v, want the sleep's error", err)
	}
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := clk.sleeps(); len(s) != 1 || !near(s[0], time.Second) {
		t.Fatalf("the waiter after a cancelled one slept %v, want [1s] (not 2s)", s)
	}
}

func TestLimiterConcurrentWaitersShareTheRate(t *testing.T) {
	clk := newFakeClock()
	var total time.Duration
	var mu sync.Mutex
	// Real concurrency, fake time: each sleep is summed instead of advancing a shared clock,
	// so the sum of the waits is what the bucket demanded.
	l := NewLimiter(5, clk.now, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		total += d
		mu.Unlock()
		return nil
	})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Wait(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// With time standing still, 5 sends come from the bucket and the 15 others queue at
	// 200 ms apart: waits of 200 ms, 400 ms, ... 3 s, 24 s in all.
	if !near(total, 24*time.Second) {
		t.Fatalf("20 concurrent waiters at 5/s waited %s in total, want 24s", total)
	}
}
