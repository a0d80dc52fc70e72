package memqueue

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRedeliversUntilHandled(t *testing.T) {
	q := New()
	q.Backoff = time.Millisecond
	var calls atomic.Int32
	q.Subscribe("t", 2, func(ctx context.Context, body []byte) error {
		if calls.Add(1) < 3 {
			return errors.New("transient")
		}
		return nil
	})
	if err := q.Publish(context.Background(), "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times, want 3 (two failures, one success)", n)
	}
}

func TestDeadLettersAfterMaxAttemptsAndSurvivesPanics(t *testing.T) {
	q := New()
	q.Backoff = time.Millisecond
	q.MaxAttempts = 3
	var mu sync.Mutex
	var dead [][]byte
	q.DeadLetter = func(topic string, body []byte, err error) { mu.Lock(); dead = append(dead, body); mu.Unlock() }
	var calls atomic.Int32
	q.Subscribe("t", 1, func(ctx context.Context, body []byte) error {
		calls.Add(1)
		if string(body) == "poison" {
			panic("bad row")
		}
		return nil
	})
	_ = q.Publish(context.Background(), "t", []byte("poison"), []byte("fine"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || string(dead[0]) != "poison" || calls.Load() != 4 {
		t.Fatalf("dead=%q calls=%d", dead, calls.Load())
	}
}

func TestPublishErrors(t *testing.T) {
	q := New()
	if err := q.Publish(context.Background(), "nobody", []byte("x")); !errors.Is(err, ErrNoSubscriber) {
		t.Fatalf("got %v", err)
	}
	q.Subscribe("t", 1, func(context.Context, []byte) error { return nil })
	_ = q.Close(context.Background())
	if err := q.Publish(context.Background(), "t", []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
}

// TestTopicOptionsDeadLetter checks that a topic's own attempt count and dead-letter callback
// apply instead of the queue's, and that the callback sees the last error.
func TestTopicOptionsDeadLetter(t *testing.T) {
	q := New()
	q.MaxAttempts = 10
	var calls atomic.Int32
	var dead atomic.Value
	boom := errors.New("boom")
	q.SubscribeWith("t", TopicOptions{Workers: 1, MaxAttempts: 2, Backoff: time.Millisecond,
		DeadLetter: func(_ context.Context, body []byte, err error) error {
			if !errors.Is(err, boom) {
				t.Errorf("dead letter got %v, want boom", err)
			}
			dead.Store(string(body))
			return nil
		}}, func(context.Context, []byte) error { calls.Add(1); return boom })
	if err := q.Publish(context.Background(), "t", []byte("row-7")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || dead.Load() != "row-7" {
		t.Fatalf("calls=%d dead=%v; want 2 attempts then the dead letter", calls.Load(), dead.Load())
	}
}
