//go:build !linux

package jsonld

import "time"

func threadCPU() time.Duration { return 0 }
