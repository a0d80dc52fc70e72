package boltstore

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// committer group-commits write transactions. bbolt's own Batch waits a fixed delay for
// company and then commits; here a write joins the queue, and a writer that finds no commit
// running leads: it takes everything queued and commits it in one transaction. Whatever queued
// meanwhile is led by the first writer in it. A group is thus what arrived during the previous
// commit's fsyncs — one write when the store is idle, hundreds under a bulk job — and no write
// waits for a timer. Leading passes on after each group so no writer serves others for long.
type committer struct {
	mu      sync.Mutex
	queue   []*write
	running bool
}

type write struct {
	fn   func(*bolt.Tx) error
	done chan error
}

var (
	// errSolo tells a write that failed inside a group to run again on its own: its error may
	// have been caused by a write before it in the same transaction.
	errSolo = errors.New("boltstore: run alone")
	// errLead tells a queued write that its writer leads the next group.
	errLead = errors.New("boltstore: lead")
)

func (c *committer) do(db *bolt.DB, fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		c.lead(db)
	}
	err := <-w.done
	for err == errLead {
		c.lead(db)
		err = <-w.done
	}
	if err == errSolo {
		err = db.Update(func(tx *bolt.Tx) error { return call(fn, tx) })
	}
	return err
}

// lead commits what is queued (the leader's own write among it) and hands leading on to the
// first write queued since, if any.
func (c *committer) lead(db *bolt.DB) {
	c.mu.Lock()
	group := c.queue
	c.queue = nil
	c.mu.Unlock()
	commitGroup(db, group)
	c.mu.Lock()
	if len(c.queue) == 0 {
		c.running = false
	} else {
		c.queue[0].done <- errLead
	}
	c.mu.Unlock()
}

// commitGroup commits group in one transaction and tells every write the outcome. A write
// whose fn fails rolls the transaction back; it is told to run alone (errSolo), and the rest
// commit without it.
func commitGroup(db *bolt.DB, group []*write) {
	for len(group) > 0 {
		failed := -1
		err := db.Update(func(tx *bolt.Tx) error {
			for i, w := range group {
				if err := call(w.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, w := range group {
				w.done <- err
			}
			return
		}
		group[failed].done <- errSolo
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}

// call runs fn, turning a panic into an error so that one bad write fails alone instead of
// taking the committer (and every writer waiting on it) down.
func call(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("boltstore: write panicked: %v", p)
		}
	}()
	return fn(tx)
}
