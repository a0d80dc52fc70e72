package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/app"
	"github.com/credence-oss/credence/shared/domain"
)

// BenchmarkRoster10k is the bulk budget (ARCHITECTURE.md: a 10,000-row roster in local mode
// issued, signed with both proofs, stored and mailed as .eml files in under 10 s): one
// iteration is one roster through `credence serve`'s wiring, from the upload to a done job.
//
//	go test ./shared/app -run '^$' -bench Roster10k -benchtime 1x
func BenchmarkRoster10k(b *testing.B) {
	const rows = 10_000
	defer app.TuneRuntime()() // as `credence serve` does
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var handler http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		local, err := app.OpenLocal(app.LocalOptions{Dir: b.TempDir(), BaseURL: srv.URL, AdminKey: adminKey, Log: quiet})
		if err != nil {
			b.Fatal(err)
		}
		handler = local.Handler
		ctx := context.Background()
		admin := domain.Principal{KeyID: "bench"}
		iss, err := local.Service.CreateIssuer(ctx, admin, domain.IssuerInput{Name: "Bench U", URL: "https://bench.example.edu", Email: "reg@example.edu"})
		if err != nil {
			b.Fatal(err)
		}
		ach, err := local.Service.CreateAchievement(ctx, admin, iss.ID, domain.AchievementInput{Name: "Bench", Description: "Bench.", Criteria: domain.CriteriaInput{Narrative: "Ran."}})
		if err != nil {
			b.Fatal(err)
		}
		s := makeRoster(rows, "bench")
		data := s.csv()
		api := func(method, path string, body any, out any) {
			raw, _ := json.Marshal(body)
			req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(raw))
			req.Header.Set("Authorization", "Bearer "+adminKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			defer res.Body.Close()
			if err := json.NewDecoder(res.Body).Decode(out); err != nil || res.StatusCode/100 != 2 {
				b.Fatalf("%s %s: %d %v", method, path, res.StatusCode, err)
			}
		}
		b.StartTimer()
		start := time.Now()
		var created struct {
			JobID  string        `json:"jobId"`
			Upload domain.Upload `json:"upload"`
		}
		api("POST", "/v1/issuers/"+iss.ID+"/jobs", map[string]any{"achievementId": ach.ID, "filename": "bench.csv"}, &created)
		fields := map[string]any{}
		for k, v := range created.Upload.Fields {
			fields[k] = v
		}
		uploadForm(b, created.Upload.URL, fields, "bench.csv", data)
		var j map[string]any
		for {
			j = nil
			api("GET", "/v1/jobs/"+created.JobID, nil, &j)
			if j["done"] == true {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if j["state"] != "done" || num(j, "issued") != len(s.good) || num(j, "mailed") != len(s.good) {
			b.Fatalf("job: %v", j)
		}
		b.ReportMetric(elapsed.Seconds(), "s/roster")
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		_ = local.Close(cctx)
		cancel()
		srv.Close()
	}
}
