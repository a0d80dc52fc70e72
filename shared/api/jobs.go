package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/web"
)

// Option configures the API beyond the Service.
type Option func(*API)

// WithBulk enables bulk issuance (jobs, resend). Without it those routes answer 503
// bulk_unavailable: a deployment without the roster machinery still serves everything else.
func WithBulk(b *domain.Bulk) Option { return func(a *API) { a.bulk = b } }

func (a *API) needBulk() error {
	if a.bulk == nil {
		return web.Errorf(http.StatusServiceUnavailable, "bulk_unavailable", "bulk issuance is not configured on this deployment")
	}
	return nil
}

// JobView is a job as the API shows it (INTERFACES.md: GET /v1/jobs/{jobId}).
type JobView struct {
	JobID          string            `json:"jobId"`
	IssuerID       string            `json:"issuerId"`
	AchievementID  string            `json:"achievementId"`
	Filename       string            `json:"filename"`
	Notify         bool              `json:"notify"`
	State          domain.JobState   `json:"state"`
	Done           bool              `json:"done"` // state is done or failed: nothing more will change
	Total          int               `json:"total"`
	Issued         int               `json:"issued"`
	Rejected       int               `json:"rejected"`
	Failed         int               `json:"failed"`
	Mailed         int               `json:"mailed"`
	MailSuppressed int               `json:"mailSuppressed"`
	MailFailed     int               `json:"mailFailed"`
	Errors         []domain.RowError `json:"errors"`
	ErrorReportURL string            `json:"errorReportUrl,omitempty"`
	// SourceJobID is set when the same file was uploaded before: the rows are the first
	// job's credentials, counted as issued again, not issued twice.
	SourceJobID string    `json:"sourceJobId,omitempty"`
	Message     string    `json:"message,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func jobView(j domain.Job, reportURL string) JobView {
	v := JobView{
		JobID: j.ID, IssuerID: j.IssuerID, AchievementID: j.AchievementID, Filename: j.Filename, Notify: j.Notify,
		State: j.State, Done: j.State == domain.JobDone || j.State == domain.JobFailed,
		Total: j.Total, Issued: j.Issued, Rejected: j.Rejected, Failed: j.Failed, Mailed: j.Mailed,
		MailSuppressed: j.MailSuppressed, MailFailed: j.MailFailed, Errors: j.Errors, ErrorReportURL: reportURL,
		Message: j.Message, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}
	if j.SourceJobID != j.ID {
		v.SourceJobID = j.SourceJobID
	}
	if v.Errors == nil {
		v.Errors = []domain.RowError{}
	}
	return v
}

// JobCreated is the answer to POST /v1/issuers/{issuerId}/jobs.
type JobCreated struct {
	JobID  string        `json:"jobId"`
	Upload domain.Upload `json:"upload"`
	Job    JobView       `json:"job"`
}

func (a *API) createJob(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	if err := a.needBulk(); err != nil {
		return err
	}
	issuerID := r.PathValue("issuerId")
	if !p.CanAccess(issuerID) {
		return domain.NotFound("issuer")
	}
	return a.create(w, r, p, "POST jobs "+issuerID,
		func(id string) string { return "/v1/jobs/" + id },
		// A replay gets a fresh upload URL for the same job: the first may have expired.
		func(id string) (any, error) {
			j, up, err := a.bulk.JobUpload(r.Context(), p, id)
			return JobCreated{JobID: j.ID, Upload: up, Job: jobView(j, "")}, err
		},
		func() (string, any, error) {
			var in domain.JobInput
			if err := web.DecodeJSON(r, &in, 16<<10); err != nil {
				return "", nil, err
			}
			j, up, err := a.bulk.CreateJob(r.Context(), p, issuerID, in)
			if err != nil {
				return "", nil, badFormat(err)
			}
			return j.ID, JobCreated{JobID: j.ID, Upload: up, Job: jobView(j, "")}, nil
		})
}

// badFormat answers a file name that is not a roster with 400: the request is well formed but
// names a kind of file the API does not take, which clients handle like a bad request (pick
// another file), not like a field that failed a rule.
func badFormat(err error) error {
	var de *domain.Error
	if errors.As(err, &de) && de.Code == "unsupported_format" {
		p := &web.Problem{Status: http.StatusBadRequest, Code: de.Code, Message: de.Message}
		for _, f := range de.Fields {
			p.Details = append(p.Details, web.Detail{Field: f.Field, Message: f.Message})
		}
		return p
	}
	return err
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	if err := a.needBulk(); err != nil {
		return err
	}
	j, url, err := a.bulk.GetJob(r.Context(), p, r.PathValue("jobId"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, jobView(j, url))
	return nil
}

func (a *API) resend(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	if err := a.needBulk(); err != nil {
		return err
	}
	c, err := a.bulk.Resend(r.Context(), p, r.PathValue("credentialId"), web.RequestID(r.Context()))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusAccepted, a.view(c, false))
	return nil
}
