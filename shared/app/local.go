// Package app wires the domain to its adapters: the embedded ones for `credence serve`
// (Local) and the AWS ones for the Lambda functions (FromEnv). It is the only package that
// knows both the domain and the concrete adapters.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/adapters/boltstore"
	"github.com/credence-oss/credence/shared/adapters/emlmailer"
	"github.com/credence-oss/credence/shared/adapters/localblobs"
	"github.com/credence-oss/credence/shared/adapters/localkeys"
	"github.com/credence-oss/credence/shared/adapters/memqueue"
	"github.com/credence-oss/credence/shared/api"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/roster"
	"github.com/credence-oss/credence/shared/roster/report"
	"github.com/credence-oss/credence/shared/site"
	"github.com/credence-oss/credence/shared/web"
)

// Local is every function of Credence in one process on embedded adapters.
type Local struct {
	Dir     string
	Service *domain.Service
	Store   *boltstore.Store
	Keys    *localkeys.Store
	Queue   *memqueue.Queue
	Mailer  *emlmailer.Mailer
	Mailing domain.Mailing
	Blobs   *localblobs.Store
	Bulk    *domain.Bulk
	Handler http.Handler
	Log     *slog.Logger
}

// LocalOptions configure OpenLocal.
type LocalOptions struct {
	Dir      string // data directory
	BaseURL  string // e.g. http://127.0.0.1:8080
	AdminKey string // CREDENCE_ADMIN_KEY: the bootstrap admin key instead of a generated one
	MailFrom string
	Log      *slog.Logger
}

// OpenLocal opens (creating if needed) the data directory and wires everything.
func OpenLocal(o LocalOptions) (*Local, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MailFrom == "" {
		o.MailFrom = "Credence <badges@credence.localhost>"
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	store, err := boltstore.Open(filepath.Join(o.Dir, "credence.db"))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	ks, err := localkeys.Open(filepath.Join(o.Dir, "keys.json"))
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("open keys: %w", err)
	}
	mailer, err := emlmailer.New(filepath.Join(o.Dir, "mail"))
	if err != nil {
		store.Close()
		return nil, err
	}
	q := memqueue.New()
	q.Log = o.Log
	svc := &domain.Service{
		Store: store, Signer: ks, Queue: q, Invalidator: domain.NopInvalidator{}, Clock: time.Now,
		BaseURL: strings.TrimRight(o.BaseURL, "/"), Log: o.Log, Analytics: boltstore.NewAnalytics(store),
	}
	if o.AdminKey != "" {
		svc.BootstrapKeyHash = domain.HashSecret(o.AdminKey)
	}
	l := &Local{Dir: o.Dir, Service: svc, Store: store, Keys: ks, Queue: q, Mailer: mailer, Log: o.Log,
		Mailing: domain.Mailing{Mailer: mailer, From: o.MailFrom}}
	blobs, err := localblobs.Open(filepath.Join(o.Dir, "blobs"), svc.BaseURL)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("open blobs: %w", err)
	}
	blobs.Log = o.Log
	l.Blobs = blobs
	l.Bulk = &domain.Bulk{
		Svc: svc, Jobs: store, Blobs: blobs, Parse: roster.Parser(roster.Options{}), Report: report.CSV{},
		Mailing: l.Mailing, MailLease: localMailLease,
	}
	blobs.OnUpload = func(ctx context.Context, key string) {
		if err := q.Publish(ctx, domain.TopicRoster, []byte(key)); err != nil {
			o.Log.Error("roster upload event lost", "key", key, "jobId", domain.JobIDFromKey(key), "err", err)
		}
	}
	l.subscribe()
	pub := http.NewServeMux()
	pub.Handle(localblobs.UploadPath, blobs.Handler())
	pub.Handle(localblobs.DownloadPath, blobs.Handler())
	pub.Handle("/", site.New(svc))
	l.Handler = Router(api.New(svc, api.WithBulk(l.Bulk)), pub, o.Log)
	return l, nil
}

// GCPercent is the garbage collector's target under `credence serve` when GOGC is not set. A
// bulk roster allocates about 175 KB a row (credential, proofs, mail, store pages) over a live
// heap of about 30 MB: at Go's default of 100 the collector ran about 100 times for 10,000 rows,
// for 1.2 s of CPU; at 400 it runs about 25 times, for 0.5 s, and the heap peaks at about
// 150 MB instead of 60 MB, which a server on a developer's machine can spare.
const GCPercent = 400

// ExtraProcs is how many Ps local mode runs beyond the runtime's default (one per core) when
// GOMAXPROCS is not set. A bulk job's goroutines often block in the kernel (each commit's two
// fdatasyncs, each mail file's creation), and a P whose thread sleeps there does no work until
// the runtime hands it on. On 2 cores, a 10,000-row roster kept 82-86% of the cores busy with
// 2 Ps and 87-88% with 3, and took 10.8 s instead of 11.9 s on average over four interleaved
// pairs of runs.
const ExtraProcs = 1

// TuneRuntime sets the collector target of local mode (GCPercent) unless the GOGC environment
// variable chose one, and adds ExtraProcs unless GOMAXPROCS did; it returns what puts the
// previous settings back. It changes the whole process, so the command that serves calls it,
// not OpenLocal.
func TuneRuntime() (restore func()) {
	var undo []func()
	if _, set := os.LookupEnv("GOGC"); !set {
		prev := debug.SetGCPercent(GCPercent)
		undo = append(undo, func() { debug.SetGCPercent(prev) })
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		prev := runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + ExtraProcs)
		undo = append(undo, func() { runtime.GOMAXPROCS(prev) })
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// localMailLease is how long a mail worker holds a bulk row's mail. The mail topic's retries
// below span longer than it, so a delivery that stopped while holding it is retried after it
// runs out, not dropped (the same must hold for the SQS mail queue's visibility timeout times
// its maxReceiveCount).
const localMailLease = 5 * time.Second

// subscribe starts the workers: the roster, issue and mail topics as SQS queues with their
// event source mappings and dead-letter queues on AWS. Every topic is at least once; a
// message that fails every delivery is handed to the domain's Fail* so its job can finish.
func (l *Local) subscribe() {
	b, log := l.Bulk, l.Log
	// A worker spends most of a row waiting for commits (group-committed by the store, so more
	// writers waiting means larger groups, not more fsyncs: the commit chain, not the CPU, set
	// the pace with fewer) and for a core to sign on. Goroutines waiting cost little; measured
	// on 2 cores, 16/16 workers issued 10k rows in 16 s, 512/128 in 10-11 s.
	issueWorkers := max(512, runtime.GOMAXPROCS(0)*256)
	mailWorkers := max(128, runtime.GOMAXPROCS(0)*64)
	l.Queue.SubscribeWith(domain.TopicRoster, memqueue.TopicOptions{Workers: 1, MaxAttempts: 3,
		DeadLetter: func(ctx context.Context, body []byte, err error) error {
			return b.FailRoster(ctx, string(body), err)
		}}, func(ctx context.Context, body []byte) error {
		return b.ProcessRoster(ctx, string(body))
	})
	l.Queue.SubscribeWith(domain.TopicIssue, memqueue.TopicOptions{Workers: issueWorkers, MaxAttempts: 5,
		DeadLetter: func(ctx context.Context, body []byte, err error) error {
			m, derr := domain.DecodeIssueRow(body)
			if derr != nil {
				return derr
			}
			return b.FailRow(ctx, m, err)
		}}, func(ctx context.Context, body []byte) error {
		m, err := domain.DecodeIssueRow(body)
		if err != nil {
			log.Error("dropping malformed issue message", "err", err)
			return nil
		}
		return b.IssueRow(ctx, m)
	})
	// One consumer for single and bulk mail: DeliveryMessage reads MailMessage bodies too, and
	// DeliverMail adds suppression and per-row counting to what Service.SendMail does.
	l.Queue.SubscribeWith(domain.TopicMail, memqueue.TopicOptions{Workers: mailWorkers, MaxAttempts: 8,
		Backoff: 250 * time.Millisecond, MaxBackoff: localMailLease,
		DeadLetter: func(ctx context.Context, body []byte, err error) error {
			m, derr := domain.DecodeDelivery(body)
			if derr != nil {
				return derr
			}
			return b.FailMail(ctx, m, err)
		}}, func(ctx context.Context, body []byte) error {
		m, err := domain.DecodeDelivery(body)
		if err != nil {
			log.Error("dropping malformed mail message", "err", err)
			return nil
		}
		return b.DeliverMail(ctx, m)
	})
}

// Router puts the admin API under /v1/ and the public site everywhere else, as API Gateway and
// CloudFront do on AWS.
func Router(adminAPI, public http.Handler, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", adminAPI)
	mux.Handle("/", public)
	return web.Middleware(log, mux)
}

// Close drains the queues and closes the store.
func (l *Local) Close(ctx context.Context) error {
	qerr := l.Queue.Close(ctx)
	return errors.Join(qerr, l.Store.Close())
}

// Demo is what the first start seeds, kept in <data>/demo.json so later starts can print it.
type Demo struct {
	IssuerID      string `json:"issuerId"`
	AchievementID string `json:"achievementId"`
	AdminKey      string `json:"adminKey,omitempty"` // local development key; the file is 0600
	CredentialID  string `json:"credentialId"`
	CredentialURL string `json:"credentialUrl"`
}

// Seed creates the demo issuer, achievement, admin key and a sample credential on first start,
// and returns what was seeded (or what an earlier start seeded).
func (l *Local) Seed(ctx context.Context, adminKey string) (Demo, bool, error) {
	path := filepath.Join(l.Dir, "demo.json")
	if raw, err := os.ReadFile(path); err == nil {
		var d Demo
		if err := json.Unmarshal(raw, &d); err != nil {
			return Demo{}, false, fmt.Errorf("read %s: %w", path, err)
		}
		if adminKey != "" {
			d.AdminKey = adminKey
		}
		return d, false, nil
	}
	admin := domain.Principal{KeyID: "seed"}
	var d Demo
	if adminKey == "" {
		_, secret, err := l.Service.CreateAPIKey(ctx, admin, "demo admin key", "")
		if err != nil {
			return Demo{}, false, fmt.Errorf("seed admin key: %w", err)
		}
		d.AdminKey = secret
	}
	iss, err := l.Service.CreateIssuer(ctx, admin, domain.IssuerInput{
		Name: "Example University", URL: "https://www.example.edu", Email: "registrar@example.edu",
		Description: "A demo issuer created by credence serve.",
		Branding:    &domain.BrandingData{PrimaryColor: "#1a5fb4"},
	})
	if err != nil {
		return Demo{}, false, fmt.Errorf("seed issuer: %w", err)
	}
	ach, err := l.Service.CreateAchievement(ctx, admin, iss.ID, domain.AchievementInput{
		Name:            "Research Data Management Workshop",
		Description:     "Completed a two-day hands-on workshop on managing, documenting and sharing research data.",
		Criteria:        domain.CriteriaInput{Narrative: "Attended both days and submitted a data management plan that was reviewed by the instructors."},
		AchievementType: "Course",
		Skills:          []string{"Research data management", "Data documentation", "Open science"},
		ValidForDays:    3 * 365,
	})
	if err != nil {
		return Demo{}, false, fmt.Errorf("seed achievement: %w", err)
	}
	c, _, err := l.Service.Issue(ctx, admin, iss.ID, domain.IssueInput{
		AchievementID: ach.ID, Recipient: domain.RecipientInput{Name: "Ada Lovelace", Email: "ada@example.org"}, Notify: true,
	}, domain.IssueOptions{Actor: "seed"})
	if err != nil {
		return Demo{}, false, fmt.Errorf("seed credential: %w", err)
	}
	d.IssuerID, d.AchievementID, d.CredentialID, d.CredentialURL = iss.ID, ach.ID, c.ID, l.Service.CredentialURL(c.ID)
	raw, _ := json.MarshalIndent(d, "", "  ")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return Demo{}, false, fmt.Errorf("write %s: %w", path, err)
	}
	if adminKey != "" {
		d.AdminKey = adminKey
	}
	return d, true, nil
}
