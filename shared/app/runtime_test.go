package app_test

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/credence-oss/credence/shared/app"
)

func TestTuneRuntimeSetsTheCollectorTargetAndProcsUnlessTheEnvironmentDoes(t *testing.T) {
	for _, v := range []string{"GOGC", "GOMAXPROCS"} {
		t.Setenv(v, "") // restores the caller's value afterwards
		os.Unsetenv(v)
	}
	beforeGC := debug.SetGCPercent(100)
	defer debug.SetGCPercent(beforeGC)
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)

	restore := app.TuneRuntime()
	if got := debug.SetGCPercent(app.GCPercent); got != app.GCPercent {
		t.Fatalf("GC percent after TuneRuntime = %d, want %d", got, app.GCPercent)
	}
	if got := runtime.GOMAXPROCS(0); got != procs+app.ExtraProcs {
		t.Fatalf("GOMAXPROCS after TuneRuntime = %d, want %d", got, procs+app.ExtraProcs)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent after restore = %d, want 100", got)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Fatalf("GOMAXPROCS after restore = %d, want %d", got, procs)
	}

	t.Setenv("GOGC", "150")
	t.Setenv("GOMAXPROCS", "1")
	debug.SetGCPercent(150) // what the runtime read from the environment at start
	runtime.GOMAXPROCS(1)
	restore = app.TuneRuntime()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Fatalf("with GOGC set, TuneRuntime changed the target to %d", got)
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("with GOMAXPROCS set, TuneRuntime changed it to %d", got)
	}
	restore()
}
