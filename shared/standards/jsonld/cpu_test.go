package jsonld

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPU(t *testing.T) {
	for _, c := range benchCases(t) {
		for i := 0; i < 200; i++ { Canonicalize(c.doc); Canonicalize(c.opts) }
		best := time.Hour
		for r := 0; r < 5; r++ {
			st := cpuNow()
			n := 2000
			for i := 0; i < n; i++ { Canonicalize(c.doc); Canonicalize(c.opts) }
			d := (cpuNow() - st) / time.Duration(n)
			if d < best { best = d }
		}
		fmt.Println(c.name, "thread CPU per op:", best)
	}
}
