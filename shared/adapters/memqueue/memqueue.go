// Package memqueue is the in-process Queue of local mode. It keeps SQS's contract that matters
// to the consumers — at-least-once delivery, retries with backoff, a dead-letter hook after
// MaxAttempts — so the idempotency the Lambda consumers rely on is exercised locally too.
package memqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Handler processes one message; an error means "deliver it again later".
type Handler func(ctx context.Context, body []byte) error

// Queue is a set of topics, each with its handler and workers.
type Queue struct {
	mu       sync.Mutex
	topics   map[string]*topic
	inflight sync.WaitGroup
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
	// MaxAttempts before a message goes to the dead-letter hook (SQS maxReceiveCount).
	MaxAttempts int
	// Backoff before redelivery of a failed message.
	Backoff time.Duration
	// DeadLetter is called with a message that failed MaxAttempts times.
	DeadLetter func(topic string, body []byte, err error)
	Log        *slog.Logger
}

type topic struct {
	name    string
	handler Handler
	ch      chan message
	opts    TopicOptions
}

// TopicOptions configure one topic, like the settings of one SQS queue and its event source
// mapping. Zero fields take the Queue's defaults.
type TopicOptions struct {
	Workers     int           // concurrent handlers (the mapping's maximum concurrency)
	MaxAttempts int           // deliveries before dead-lettering (maxReceiveCount)
	Backoff     time.Duration // first redelivery delay, doubled per attempt
	MaxBackoff  time.Duration // cap of the redelivery delay (default 30 s)
	// DeadLetter is called once with a message that failed MaxAttempts times, before it is
	// dropped: the consumer's last word on it (a bulk row recorded as failed). Its error is
	// logged; the message is gone either way, as it would sit in a dead-letter queue.
	DeadLetter func(ctx context.Context, body []byte, err error) error
}

type message struct {
	body    []byte
	attempt int
}

// New returns an empty queue.
func New() *Queue {
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{topics: map[string]*topic{}, ctx: ctx, cancel: cancel, MaxAttempts: 5, Backoff: 200 * time.Millisecond, Log: slog.Default()}
}

// Subscribe sets the handler of a topic and starts `workers` consumers for it.
func (q *Queue) Subscribe(name string, workers int, h Handler) {
	q.SubscribeWith(name, TopicOptions{Workers: workers}, h)
}

// SubscribeWith sets the handler of a topic with its own retry and dead-letter settings.
func (q *Queue) SubscribeWith(name string, o TopicOptions, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := &topic{name: name, handler: h, ch: make(chan message, 1<<16), opts: o}
	q.topics[name] = t
	for i := 0; i < max(1, o.Workers); i++ {
		go q.consume(t)
	}
}

// ErrNoSubscriber is returned when publishing to a topic nobody consumes.
var ErrNoSubscriber = errors.New("memqueue: no subscriber for topic")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("memqueue: closed")

// Publish enqueues bodies on a topic.
func (q *Queue) Publish(ctx context.Context, name string, bodies ...[]byte) error {
	q.mu.Lock()
	t, ok := q.topics[name]
	closed := q.closed
	if ok && !closed {
		q.inflight.Add(len(bodies))
	}
	q.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if !ok {
		return fmt.Errorf("%w %q", ErrNoSubscriber, name)
	}
	for _, b := range bodies {
		select {
		case t.ch <- message{body: append([]byte(nil), b...)}:
		case <-ctx.Done():
			q.inflight.Done()
			return ctx.Err()
		}
	}
	return nil
}

func (q *Queue) consume(t *topic) {
	for {
		select {
		case <-q.ctx.Done():
			return
		case m := <-t.ch:
			q.deliver(t, m)
		}
	}
}

func (q *Queue) deliver(t *topic, m message) {
	m.attempt++
	err := safeCall(q.ctx, t.handler, m.body)
	if err == nil {
		q.inflight.Done()
		return
	}
	maxAttempts := q.MaxAttempts
	if t.opts.MaxAttempts > 0 {
		maxAttempts = t.opts.MaxAttempts
	}
	if m.attempt >= maxAttempts {
		q.Log.Error("message failed every attempt; dead-lettered", "topic", t.name, "attempts", m.attempt, "err", err)
		if t.opts.DeadLetter != nil {
			if derr := safeCall(q.ctx, func(ctx context.Context, body []byte) error { return t.opts.DeadLetter(ctx, body, err) }, m.body); derr != nil {
				q.Log.Error("dead-letter handler failed", "topic", t.name, "err", derr)
			}
		}
		if q.DeadLetter != nil {
			q.DeadLetter(t.name, m.body, err)
		}
		q.inflight.Done()
		return
	}
	q.Log.Warn("message failed; will be delivered again", "topic", t.name, "attempt", m.attempt, "err", err)
	backoff := q.Backoff
	if t.opts.Backoff > 0 {
		backoff = t.opts.Backoff
	}
	backoff *= time.Duration(1 << min(m.attempt-1, 16))
	if ceiling := orDefault(t.opts.MaxBackoff, 30*time.Second); backoff > ceiling || backoff <= 0 {
		backoff = ceiling
	}
	time.AfterFunc(backoff, func() {
		select {
		case t.ch <- m:
		case <-q.ctx.Done():
			q.inflight.Done()
		}
	})
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func safeCall(ctx context.Context, h Handler, body []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("handler panicked: %v", v)
		}
	}()
	return h(ctx, body)
}

// Wait blocks until every published message has been handled or dead-lettered, or ctx ends.
func (q *Queue) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { q.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close drains what is queued (up to ctx) and stops the workers.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	err := q.Wait(ctx)
	q.cancel()
	return err
}
