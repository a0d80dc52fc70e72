package roster

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

const benchRows = 100_000

// rosterRow is row i of the generated rosters: every column filled, every 50th row rejected
// (bad e-mail) so the reject path is exercised too.
func rosterRow(i int) []string {
	email := fmt.Sprintf("student%06d@university.example.org", i)
	if i%50 == 49 {
		email = fmt.Sprintf("student%06d.university.example.org", i)
	}
	return []string{email, fmt.Sprintf("Student Number %d", i), "2026-01-15", "2027-01-15T00:00:00Z",
		fmt.Sprintf("https://portfolio.example.org/s/%d", i), "Completed the capstone project with distinction.", "A", ""}
}

var rosterHeader = []string{"email", "name", "validFrom", "validUntil", "evidenceUrl", "evidenceNarrative", "result", "achievementId"}

func genCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	b.WriteString(joinCells(rosterHeader))
	for i := range n {
		b.WriteString(joinCells(rosterRow(i)))
	}
	return b.Bytes()
}

func joinCells(cells []string) string {
	var b bytes.Buffer
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c)
	}
	b.WriteString("\r\n")
	return b.String()
}

// genXLSX writes with excelize's StreamWriter, as large exports are written, with a date cell
// for validFrom.
func genXLSX(tb testing.TB, n int) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		tb.Fatal(err)
	}
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		tb.Fatal(err)
	}
	row := make([]any, len(rosterHeader))
	for i, h := range rosterHeader {
		row[i] = h
	}
	if err := sw.SetRow("A1", row); err != nil {
		tb.Fatal(err)
	}
	from := excelize.Cell{StyleID: dateStyle, Value: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)}
	for i := range n {
		for j, c := range rosterRow(i) {
			row[j] = c
		}
		row[2] = from
		if err := sw.SetRow(fmt.Sprintf("A%d", i+2), row); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// peakSampler samples the heap every millisecond through runtime/metrics, which, unlike
// runtime.ReadMemStats, does not stop the world and so does not slow the parse it measures.
// The sum is HeapInuse: live objects and garbage not yet collected, what the process must
// have memory for.
type peakSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak atomic.Uint64
}

var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

func heapInuse(samples []metrics.Sample) uint64 {
	metrics.Read(samples)
	var n uint64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			n += s.Value.Uint64()
		}
	}
	return n
}

func startPeak() *peakSampler {
	s := &peakSampler{stop: make(chan struct{})}
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	s.peak.Store(heapInuse(samples))
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				if n := heapInuse(samples); n > s.peak.Load() {
					s.peak.Store(n)
				}
			}
		}
	}()
	return s
}

func (s *peakSampler) end() uint64 {
	close(s.stop)
	s.done.Wait()
	return s.peak.Load()
}

// cpuTime is the user and system CPU time of the process: on a shared machine the wall
// clock also counts the time other processes had the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchParse(b *testing.B, data []byte, format string) {
	opts := Options{Now: func() time.Time { return testNow }, TempDir: b.TempDir()}
	var valid, rejected int
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base) // once, before the timer
	// live is what the parse holds at its last row, after a collection: the duplicate set
	// and the parser's buffers, without the garbage HeapInuse also counts.
	var live uint64
	measured := false
	var peak uint64
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	start, startCPU := time.Now(), cpuTime()
	for b.Loop() {
		valid, rejected = 0, 0
		s := startPeak()
		_, err := Parse(context.Background(), bytes.NewReader(data), int64(len(data)), format, opts,
			func(r Row) error {
				valid++
				if r.Line >= benchRows && !measured { // the last valid row
					measured = true
					runtime.GC()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					live = ms.HeapAlloc - min(ms.HeapAlloc, base.HeapAlloc)
				}
				return nil
			}, func(RowError) error { rejected++; return nil })
		peak = max(peak, s.end())
		if err != nil {
			b.Fatal(err)
		}
	}
	elapsed, cpu := time.Since(start), cpuTime()-startCPU
	b.StopTimer()
	if valid != benchRows-benchRows/50 || rejected != benchRows/50 {
		b.Fatalf("valid %d, rejected %d", valid, rejected)
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(benchRows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peak-min(peak, base.HeapInuse))/(1<<20), "peak-over-base-MB")
	b.ReportMetric(float64(live)/(1<<20), "live-MB")
}

// go test -run '^$' -bench . -benchmem ./shared/roster/
func BenchmarkParseCSV100k(b *testing.B) {
	benchParse(b, genCSV(benchRows), FormatCSV)
}

func BenchmarkParseXLSX100k(b *testing.B) {
	benchParse(b, genXLSX(b, benchRows), FormatXLSX)
}

// BenchmarkRefuseZipBomb: a workbook whose sheet unpacks 1,000 times is refused from the zip
// directory, without inflating it.
func BenchmarkRefuseZipBomb(b *testing.B) {
	const size = 64 << 20
	body := deflated(b, size, ' ')
	h := crc32.NewIEEE()
	chunk := bytes.Repeat([]byte{' '}, 1<<20)
	for range size >> 20 {
		h.Write(chunk)
	}
	data := bombXLSX(b, body, h.Sum32(), size)
	b.ResetTimer()
	for b.Loop() {
		_, err := Parse(context.Background(), bytes.NewReader(data), int64(len(data)), FormatXLSX, Options{},
			func(Row) error { return nil }, func(RowError) error { return nil })
		if err == nil {
			b.Fatal("the bomb was accepted")
		}
	}
}
