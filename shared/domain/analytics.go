package domain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Engagement events. The public page reports the first five with its beacon; verifications are
// counted by the site itself (the verify API and fetches of a credential's JSON or JWT).
const (
	EventView     = "view"
	EventShare    = "share"
	EventLinkedIn = "linkedin"
	EventDownload = "download"
	EventWallet   = "wallet"
	EventVerify   = "verify"
)

// BeaconEvents are the events a page may report.
var BeaconEvents = []string{EventView, EventShare, EventLinkedIn, EventDownload, EventWallet}

// Dimensions of the issuer counters: every event is counted once in total, once under the
// viewer's country and once under the credential's achievement.
const (
	DimTotal       = ""
	DimCountry     = "country"
	DimAchievement = "achievement"
)

// UnknownCountry is the ISO 3166 user-assigned code for "no country known".
const UnknownCountry = "ZZ"

// DayLayout is how a counter's day is written (UTC).
const DayLayout = "2006-01-02"

// MaxAnalyticsDays bounds the range one analytics query may cover.
const MaxAnalyticsDays = 366

// Counter is one engagement count: of an issuer on a day (in total or under one country or
// achievement), or of one credential on a day.
type Counter struct {
	IssuerID     string // the issuer of an issuer counter; "" in a credential counter
	CredentialID string // set for a credential counter (Dim and Key are then empty)
	Day          string // YYYY-MM-DD, UTC
	Dim          string // DimTotal, DimCountry or DimAchievement
	Key          string // the country code or achievement id; "" for DimTotal
	Event        string
	N            int64
}

// Analytics is the port for engagement counters. Implementations: adapters/dynamostore (an
// UpdateItem ADD per item) and adapters/boltstore (one transaction), both checked by
// adapters/storetest.RunAnalytics.
type Analytics interface {
	// Increment adds each counter's N to the stored count without reading it first, so that
	// concurrent increments of one counter all count. A counter is either an issuer counter
	// (IssuerID set) or a credential counter (CredentialID set), never both.
	Increment(ctx context.Context, counters []Counter) error
	// Query returns the issuer counters of issuerID with from <= Day <= to (YYYY-MM-DD), one per
	// (Day, Dim, Key, Event), ordered by Day, Dim, Key, Event.
	Query(ctx context.Context, issuerID, from, to string) ([]Counter, error)
	// QueryCredential returns the counters of one credential with from <= Day <= to, one per
	// (Day, Event), ordered by Day, Event.
	QueryCredential(ctx context.Context, credentialID, from, to string) ([]Counter, error)
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// NormalizeCountry turns a viewer-country header value into an ISO 3166-1 alpha-2 code, or
// UnknownCountry when it is not one.
func NormalizeCountry(v string) string {
	v = strings.ToUpper(strings.TrimSpace(v))
	if countryCode.MatchString(v) {
		return v
	}
	return UnknownCountry
}

// IsBeaconEvent reports whether a page may report event.
func IsBeaconEvent(event string) bool {
	for _, e := range BeaconEvents {
		if e == event {
			return true
		}
	}
	return false
}

// RecordEngagement counts one event a credential page reported. Unknown events and unknown
// credentials are refused (Invalid, NotFound) so that the counters only hold real pages' events.
// Without an Analytics port it does nothing.
func (s *Service) RecordEngagement(ctx context.Context, credentialID, event, country string) error {
	if !IsBeaconEvent(event) {
		return Invalid("unknown_event", "event must be one of view, share, linkedin, download, wallet",
			FieldError{Field: "event", Message: "unknown event"})
	}
	return s.record(ctx, credentialID, event, country)
}

// RecordVerification counts a verification of one of this deployment's credentials (through
// the verify API or a fetch of its JSON or JWT).
func (s *Service) RecordVerification(ctx context.Context, credentialID, country string) error {
	return s.record(ctx, credentialID, EventVerify, country)
}

func (s *Service) record(ctx context.Context, credentialID, event, country string) error {
	if s.Analytics == nil {
		return nil
	}
	if credentialID == "" || len(credentialID) > 64 {
		return NotFound("credential")
	}
	c, err := s.Store.GetCredential(ctx, credentialID)
	if err != nil {
		return storeErr(err, "credential")
	}
	day := s.Clock().UTC().Format(DayLayout)
	country = NormalizeCountry(country)
	counters := []Counter{
		{IssuerID: c.IssuerID, Day: day, Dim: DimTotal, Event: event, N: 1},
		{IssuerID: c.IssuerID, Day: day, Dim: DimCountry, Key: country, Event: event, N: 1},
		{IssuerID: c.IssuerID, Day: day, Dim: DimAchievement, Key: c.AchievementID, Event: event, N: 1},
		{CredentialID: c.ID, Day: day, Event: event, N: 1},
	}
	if err := s.Analytics.Increment(ctx, counters); err != nil {
		return fmt.Errorf("count %s of %s: %w", event, credentialID, err)
	}
	return nil
}

// EngagementCounts are the figures of one slice of the analytics.
type EngagementCounts struct {
	Views         int64 `json:"views"`
	Shares        int64 `json:"shares"`   // share links used (not counting LinkedIn's "Add to profile")
	LinkedIn      int64 `json:"linkedin"` // LinkedIn "Add to profile"
	Downloads     int64 `json:"downloads"`
	Wallet        int64 `json:"wallet"`
	Verifications int64 `json:"verifications"`
}

func (c *EngagementCounts) add(event string, n int64) {
	switch event {
	case EventView:
		c.Views += n
	case EventShare:
		c.Shares += n
	case EventLinkedIn:
		c.LinkedIn += n
	case EventDownload:
		c.Downloads += n
	case EventWallet:
		c.Wallet += n
	case EventVerify:
		c.Verifications += n
	}
}

// DayCounts are one day's figures.
type DayCounts struct {
	Date string `json:"date"`
	EngagementCounts
}

// CountryCounts are one country's figures.
type CountryCounts struct {
	Country string `json:"country"` // ISO 3166-1 alpha-2; ZZ: unknown
	EngagementCounts
}

// AchievementCounts are one achievement's figures.
type AchievementCounts struct {
	AchievementID string `json:"achievementId"`
	Name          string `json:"name,omitempty"`
	EngagementCounts
}

// AnalyticsReport is what the analytics API returns for an issuer and a range of days.
type AnalyticsReport struct {
	IssuerID string           `json:"issuerId"`
	From     string           `json:"from"`
	To       string           `json:"to"`
	Totals   EngagementCounts `json:"totals"`
	// ShareRate is (shares + LinkedIn additions) / views over the range; null without views.
	ShareRate     *float64            `json:"shareRate"`
	ByDay         []DayCounts         `json:"byDay"` // every day of the range, oldest first
	ByCountry     []CountryCounts     `json:"byCountry"`
	ByAchievement []AchievementCounts `json:"byAchievement"`
}

// ErrNoAnalytics is reported when the deployment counts nothing.
var ErrNoAnalytics = &Error{Kind: KindUnavailable, Code: "analytics_unavailable", Message: "engagement analytics are not configured in this deployment"}

// IssuerAnalytics reports an issuer's engagement for the days from..to (YYYY-MM-DD, UTC,
// inclusive). Empty from/to default to the last 30 days up to today.
func (s *Service) IssuerAnalytics(ctx context.Context, p Principal, issuerID, from, to string) (AnalyticsReport, error) {
	if _, err := s.GetIssuer(ctx, p, issuerID); err != nil {
		return AnalyticsReport{}, err
	}
	start, end, err := s.analyticsRange(from, to)
	if err != nil {
		return AnalyticsReport{}, err
	}
	if s.Analytics == nil {
		return AnalyticsReport{}, ErrNoAnalytics
	}
	f, t := start.Format(DayLayout), end.Format(DayLayout)
	counters, err := s.Analytics.Query(ctx, issuerID, f, t)
	if err != nil {
		return AnalyticsReport{}, fmt.Errorf("analytics of %s: %w", issuerID, err)
	}
	r := AnalyticsReport{IssuerID: issuerID, From: f, To: t, ByDay: []DayCounts{}, ByCountry: []CountryCounts{}, ByAchievement: []AchievementCounts{}}
	days := map[string]*EngagementCounts{}
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		r.ByDay = append(r.ByDay, DayCounts{Date: d.Format(DayLayout)})
	}
	for i := range r.ByDay {
		days[r.ByDay[i].Date] = &r.ByDay[i].EngagementCounts
	}
	countries := map[string]*EngagementCounts{}
	achievements := map[string]*EngagementCounts{}
	for _, c := range counters {
		switch c.Dim {
		case DimTotal:
			r.Totals.add(c.Event, c.N)
			if d := days[c.Day]; d != nil {
				d.add(c.Event, c.N)
			}
		case DimCountry:
			if countries[c.Key] == nil {
				countries[c.Key] = &EngagementCounts{}
			}
			countries[c.Key].add(c.Event, c.N)
		case DimAchievement:
			if achievements[c.Key] == nil {
				achievements[c.Key] = &EngagementCounts{}
			}
			achievements[c.Key].add(c.Event, c.N)
		}
	}
	for k, v := range countries {
		r.ByCountry = append(r.ByCountry, CountryCounts{Country: k, EngagementCounts: *v})
	}
	sort.Slice(r.ByCountry, func(i, j int) bool {
		a, b := r.ByCountry[i], r.ByCountry[j]
		if a.Views != b.Views {
			return a.Views > b.Views
		}
		return a.Country < b.Country
	})
	for k, v := range achievements {
		ac := AchievementCounts{AchievementID: k, EngagementCounts: *v}
		if a, err := s.Store.GetAchievement(ctx, issuerID, k); err == nil {
			ac.Name = a.Name
		} else if !errors.Is(err, ErrNotFound) {
			return AnalyticsReport{}, fmt.Errorf("analytics of %s: achievement %s: %w", issuerID, k, err)
		}
		r.ByAchievement = append(r.ByAchievement, ac)
	}
	sort.Slice(r.ByAchievement, func(i, j int) bool {
		a, b := r.ByAchievement[i], r.ByAchievement[j]
		if a.Views != b.Views {
			return a.Views > b.Views
		}
		return a.AchievementID < b.AchievementID
	})
	if r.Totals.Views > 0 {
		rate := float64(r.Totals.Shares+r.Totals.LinkedIn) / float64(r.Totals.Views)
		r.ShareRate = &rate
	}
	return r, nil
}

// analyticsRange parses and checks an analytics range.
func (s *Service) analyticsRange(from, to string) (time.Time, time.Time, error) {
	parse := func(field, v string) (time.Time, error) {
		t, err := time.Parse(DayLayout, v)
		if err != nil {
			return time.Time{}, Invalid("invalid_range", "from and to are dates written YYYY-MM-DD",
				FieldError{Field: field, Message: fmt.Sprintf("%q is not a YYYY-MM-DD date", v)})
		}
		return t, nil
	}
	today, _ := time.Parse(DayLayout, s.Clock().UTC().Format(DayLayout))
	end := today
	if to != "" {
		t, err := parse("to", to)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		end = t
	}
	start := end.AddDate(0, 0, -29)
	if from != "" {
		t, err := parse("from", from)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		start = t
	}
	if start.After(end) {
		return time.Time{}, time.Time{}, Invalid("invalid_range", "from must not be after to",
			FieldError{Field: "from", Message: "after to"})
	}
	if days := int(end.Sub(start).Hours()/24) + 1; days > MaxAnalyticsDays {
		return time.Time{}, time.Time{}, Invalid("invalid_range", fmt.Sprintf("a range covers at most %d days; this one covers %d", MaxAnalyticsDays, days),
			FieldError{Field: "from", Message: "range too long"})
	}
	return start, end, nil
}

var eventName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Check reports what makes c unstorable; both Analytics adapters refuse such counters the
// same way (an error that is neither ErrNotFound nor ErrConflict).
func (c Counter) Check() error {
	switch {
	case (c.IssuerID == "") == (c.CredentialID == ""):
		return fmt.Errorf("counter: exactly one of IssuerID and CredentialID must be set (issuer %q, credential %q)", c.IssuerID, c.CredentialID)
	case c.CredentialID != "" && (c.Dim != "" || c.Key != ""):
		return fmt.Errorf("counter: a credential counter has no dimension (got %q=%q)", c.Dim, c.Key)
	case c.Dim == DimTotal && c.Key != "":
		return fmt.Errorf("counter: a total has no key (got %q)", c.Key)
	case c.Dim != DimTotal && c.Dim != DimCountry && c.Dim != DimAchievement:
		return fmt.Errorf("counter: unknown dimension %q", c.Dim)
	case c.Dim != DimTotal && c.Key == "":
		return fmt.Errorf("counter: dimension %s needs a key", c.Dim)
	case !eventName.MatchString(c.Event):
		return fmt.Errorf("counter: event %q is not a lower-case name", c.Event)
	case c.N < 1:
		return fmt.Errorf("counter: N must be positive, not %d", c.N)
	}
	if err := CheckDay(c.Day); err != nil {
		return fmt.Errorf("counter: %w", err)
	}
	for _, s := range []string{c.IssuerID, c.CredentialID, c.Key} {
		if !utf8.ValidString(s) || len(s) > 256 {
			return fmt.Errorf("counter: id or key %q is not valid UTF-8 of at most 256 bytes", s)
		}
	}
	return nil
}

// CheckDay reports whether day is a YYYY-MM-DD date.
func CheckDay(day string) error {
	if t, err := time.Parse(DayLayout, day); err != nil || t.Format(DayLayout) != day {
		return fmt.Errorf("day %q is not a YYYY-MM-DD date", day)
	}
	return nil
}
