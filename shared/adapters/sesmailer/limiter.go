package sesmailer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Limiter is a token bucket that paces the sends of one process to a rate that can change
// while it runs (the account's SES quota is read again every few minutes).
//
// Callers reserve a token at once and then wait for their turn, so concurrent senders are
// served in arrival order and a slow sender never lets a burst pile up behind it. Tokens may go
// negative: a debt is what makes later callers wait longer.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second; > 0
	burst  float64 // bucket size; >= 1
	tokens float64
	last   time.Time

	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// ErrDeadline is returned by Wait when the caller's deadline comes before its turn: better to
// hand the message back to the queue now than to be cut off by the function's timeout.
var ErrDeadline = errors.New("sesmailer: the send rate leaves no turn before the deadline")

// NewLimiter returns a limiter allowing rate tokens per second with a bucket of one second's
// worth (at least one token), starting full. now and sleep default to the real clock.
func NewLimiter(rate float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *Limiter {
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	l := &Limiter{now: now, sleep: sleep}
	l.rate, l.burst = normRate(rate)
	l.tokens, l.last = l.burst, now()
	return l
}

func normRate(rate float64) (r, burst float64) {
	if !(rate > 0) { // also catches NaN
		rate = minRate
	}
	return rate, max(1, rate)
}

// minRate keeps a misconfigured or zero quota from stopping the mail for good.
const minRate = 0.1

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// advance adds the tokens earned since the last call; the caller holds mu.
func (l *Limiter) advance(now time.Time) {
	if el := now.Sub(l.last).Seconds(); el > 0 {
		l.tokens = min(l.burst, l.tokens+el*l.rate)
	}
	l.last = now
}

// Rate is the current rate in tokens per second.
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// SetRate changes the rate; a debt already owed is kept, so a lower rate takes effect at once.
func (l *Limiter) SetRate(rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance(l.now())
	l.rate, l.burst = normRate(rate)
	l.tokens = min(l.tokens, l.burst)
}

// Penalize empties the bucket and adds a debt of d: after SES says the rate was exceeded
// (other senders in the account, or a quota lowered since it was read) the process pauses for
// d before its next send.
func (l *Limiter) Penalize(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance(l.now())
	l.tokens = min(l.tokens, 0) - d.Seconds()*l.rate
}

// Wait blocks until the caller may send one message. It returns ErrDeadline without taking a
// turn when ctx's deadline falls before the turn, and ctx's error if ctx ends while waiting.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := l.now()
	l.advance(now)
	wait := time.Duration(0)
	if l.tokens < 1 {
		wait = time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
	}
	if dl, ok := ctx.Deadline(); ok && wait > 0 && now.Add(wait).After(dl) {
		l.mu.Unlock()
		return fmt.Errorf("%w (turn in %s)", ErrDeadline, wait.Round(time.Millisecond))
	}
	l.tokens--
	l.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	if err := l.sleep(ctx, wait); err != nil {
		// Give the turn back so the senders behind do not wait for a message never sent.
		l.mu.Lock()
		l.advance(l.now())
		l.tokens = min(l.burst, l.tokens+1)
		l.mu.Unlock()
		return err
	}
	return nil
}
