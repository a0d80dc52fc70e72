package app_test

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/credence-oss/credence/shared/app"
)

func TestTuneRuntimeSetsTheCollectorTargetUnlessGOGCIsSet(t *testing.T) {
	t.Setenv("GOGC", "") // restores the caller's GOGC afterwards
	os.Unsetenv("GOGC")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	restore := app.TuneRuntime()
	if got := debug.SetGCPercent(app.GCPercent); got != app.GCPercent {
		t.Fatalf("GC percent after TuneRuntime = %d, want %d", got, app.GCPercent)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent after restore = %d, want 100", got)
	}

	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // what the runtime read from GOGC at start
	restore = app.TuneRuntime()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Fatalf("with GOGC set, TuneRuntime changed the target to %d", got)
	}
	restore()
}
