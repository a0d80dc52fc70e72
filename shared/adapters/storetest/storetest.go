// Package storetest is the contract every domain.Store implementation passes. Each adapter's
// tests call Run with a constructor for a fresh, empty store; the same assertions then hold for
// DynamoDB and for the embedded store, so the domain can rely on one behaviour.
//
// Where the port's comments leave a choice open, the contract fixes it:
//
//   - ListIssuers and ListAchievements: ordered by id, ascending.
//   - ListCredentials: newest first, by IssuedAt then id (both descending).
//   - ListAPIKeys: by CreatedAt then id, ascending.
//   - ListAudit: by At, oldest first (events with equal times in any order).
//   - Pages: Limit <= 0 means the adapter's default page size. A page holds min(Limit, what is
//     left) records; the returned cursor is "" exactly when nothing follows. A cursor is opaque
//     and only valid for the listing (method, issuer, filter) that returned it; anything else
//     fails with domain.ErrInvalidCursor.
//   - Times come back in UTC and equal what was stored at least to the millisecond.
//   - LDP, JWT and StatusList.Credential come back byte for byte. ListCredentials returns the
//     records without LDP and JWT (see the port): only GetCredential carries them.
//   - Get* and Update* of an absent record: domain.ErrNotFound (UpdateCredentialMail too: it
//     never creates a record). Create* of an existing id: domain.ErrConflict, the stored record
//     untouched. API key hashes are unique too (GetAPIKeyByHash answers one key).
//   - UpdateCredentialStatus fills the audit event's empty CredentialID, IssuerID and At from
//     the credential and the change, so the event is always listable under the credential.
//   - RevokeAPIKey of a revoked key keeps the first RevokedAt.
//   - An idempotency record whose ExpiresAt has passed is gone: Get answers ErrNotFound and Put
//     replaces it, whether or not the backend has physically deleted it yet.
//   - Empty ids and negative status indexes are refused with an error that is neither
//     ErrNotFound nor ErrConflict; a cancelled context fails the call and writes nothing.
//   - Referential integrity (an achievement's issuer exists, ...) is the domain's job, not the
//     store's: the contract neither requires nor forbids it.
package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/domain"
)

// Run runs the whole contract. newStore must return a new, empty store each time it is called
// (subtests never share one) and register its own cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) domain.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s domain.Store)
	}{
		{"Issuers", testIssuers},
		{"ListIssuers", testListIssuers},
		{"Achievements", testAchievements},
		{"ListAchievements", testListAchievements},
		{"CredentialCreateGet", testCredentialCreateGet},
		{"CredentialCreateAudited", testCredentialCreateAudited},
		{"ListCredentials", testListCredentials},
		{"ListCredentialsCursors", testListCredentialsCursors},
		{"UpdateCredentialStatus", testUpdateCredentialStatus},
		{"UpdateCredentialStatusConcurrent", testUpdateCredentialStatusConcurrent},
		{"UpdateCredentialMail", testUpdateCredentialMail},
		{"StatusIndexes", testStatusIndexes},
		{"StatusIndexesConcurrent", testStatusIndexesConcurrent},
		{"StatusLists", testStatusLists},
		{"APIKeys", testAPIKeys},
		{"Audit", testAudit},
		{"Idempotency", testIdempotency},
		{"Payloads", testPayloads},
		{"Times", testTimes},
		{"InvalidInput", testInvalidInput},
		{"CancelledContext", testCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// base is a fixed instant with sub-millisecond digits, so truncation bugs show.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func ctxT(t *testing.T) context.Context { return t.Context() }

func issuer(id string) domain.Issuer {
	return domain.Issuer{
		ID:          id,
		Name:        "Universität " + id + " — Fakultät für Informatik",
		URL:         "https://" + id + ".example.edu",
		Email:       "badges@" + id + ".example.edu",
		Description: "Zertifikate & Microcredentials 🎓",
		Image:       "https://" + id + ".example.edu/logo.png",
		Branding:    domain.Branding{PrimaryColor: "#1a2b3c", Logo: "data:image/png;base64,iVBORw0KGgo="},
		DID:         "did:web:badges.example.edu:issuers:" + id,
		// Both purposes so that an adapter dropping either one fails the round trip.
		StatusPurposes: []string{domain.PurposeRevocation, domain.PurposeSuspension},
		EdKey:          domain.KeyRef("arn:aws:kms:eu-central-1:111122223333:key/ed-" + id),
		RSAKey:         domain.KeyRef("arn:aws:kms:eu-central-1:111122223333:key/rsa-" + id),
		CreatedAt:      base,
		UpdatedAt:      base.Add(time.Hour),
	}
}

func achievement(issuerID, id string) domain.Achievement {
	return domain.Achievement{
		ID:              id,
		IssuerID:        issuerID,
		Name:            "Achievement " + id,
		Description:     "Beschreibung mit Umlauten: äöü ß",
		Criteria:        domain.Criteria{ID: "https://example.edu/criteria/" + id, Narrative: "Pass the **exam**."},
		Image:           "https://example.edu/" + id + ".png",
		AchievementType: "Certificate",
		Alignments: []domain.Alignment{
			{TargetName: "Programming", TargetURL: "https://esco.example/skill/1", TargetDescription: "d", TargetFramework: "ESCO", TargetCode: "S1.2", TargetType: "ceasn:Competency"},
			{TargetName: "Go", TargetURL: "https://esco.example/skill/2"},
		},
		Skills:       []string{"go", "dynamodb", "日本語"},
		ValidForDays: 365,
		Mail:         domain.MailText{Subject: "Your badge", Body: "Hello {{name}}"},
		CreatedAt:    base,
		UpdatedAt:    base,
	}
}

func credential(issuerID, achID, id string, issuedAt time.Time, emailKey string) domain.Credential {
	return domain.Credential{
		ID:             id,
		IssuerID:       issuerID,
		AchievementID:  achID,
		RecipientName:  "Zoë Ångström",
		RecipientEmail: "zoe@example.org",
		EmailKey:       emailKey,
		ValidFrom:      issuedAt,
		ValidUntil:     issuedAt.AddDate(1, 0, 0),
		IssuedAt:       issuedAt,
		Status:         domain.StatusActive,
		StatusListID:   "1",
		StatusIndex:    4711,
		LDP:            []byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"id":"urn:uuid:` + id + `","name":"Zoë"}`),
		JWT:            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ" + id + "In0.c2ln",
		JobID:          "job-7",
		Row:            12,
		Mail:           domain.MailState{State: domain.MailQueued, At: issuedAt},
	}
}

func apiKey(id, issuerID string, created time.Time) domain.APIKey {
	return domain.APIKey{
		ID:        id,
		Name:      "key " + id,
		IssuerID:  issuerID,
		Hash:      fmt.Sprintf("%064x", []byte(id)),
		Prefix:    "cred_" + id,
		CreatedAt: created,
	}
}

// --- comparison: the contract promises UTC times equal to the millisecond, so compare that.

func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func checkUTC(t *testing.T, what string, ts ...time.Time) {
	t.Helper()
	for i, x := range ts {
		if x.Location() != time.UTC {
			t.Errorf("%s: time #%d %v is in %v, want UTC", what, i, x, x.Location())
		}
	}
}

func normIssuer(i domain.Issuer) domain.Issuer {
	i.CreatedAt, i.UpdatedAt = ms(i.CreatedAt), ms(i.UpdatedAt)
	return i
}

func normAchievement(a domain.Achievement) domain.Achievement {
	a.CreatedAt, a.UpdatedAt = ms(a.CreatedAt), ms(a.UpdatedAt)
	if len(a.Alignments) == 0 {
		a.Alignments = nil
	}
	if len(a.Skills) == 0 {
		a.Skills = nil
	}
	return a
}

func normCredential(c domain.Credential) domain.Credential {
	c.ValidFrom, c.ValidUntil, c.IssuedAt = ms(c.ValidFrom), ms(c.ValidUntil), ms(c.IssuedAt)
	c.StatusChangedAt, c.Mail.At = ms(c.StatusChangedAt), ms(c.Mail.At)
	if len(c.LDP) == 0 {
		c.LDP = nil
	}
	return c
}

func normAPIKey(k domain.APIKey) domain.APIKey {
	k.CreatedAt, k.RevokedAt = ms(k.CreatedAt), ms(k.RevokedAt)
	return k
}

func normStatusList(l domain.StatusList) domain.StatusList {
	l.UpdatedAt = ms(l.UpdatedAt)
	if len(l.Credential) == 0 {
		l.Credential = nil
	}
	return l
}

func normAudit(e domain.AuditEvent) domain.AuditEvent {
	e.At = ms(e.At)
	return e
}

func normIdem(r domain.Idempotency) domain.Idempotency {
	r.CreatedAt, r.ExpiresAt = ms(r.CreatedAt), ms(r.ExpiresAt)
	return r
}

func sameIssuer(t *testing.T, what string, got, want domain.Issuer) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.UpdatedAt)
	if g, w := normIssuer(got), normIssuer(want); !sameFields(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func sameAchievement(t *testing.T, what string, got, want domain.Achievement) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.UpdatedAt)
	if g, w := normAchievement(got), normAchievement(want); !sameFields(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func sameCredential(t *testing.T, what string, got, want domain.Credential) {
	t.Helper()
	checkUTC(t, what, got.ValidFrom, got.ValidUntil, got.IssuedAt, got.StatusChangedAt, got.Mail.At)
	g, w := normCredential(got), normCredential(want)
	if !bytes.Equal(g.LDP, w.LDP) {
		t.Errorf("%s: LDP differs (got %d bytes, want %d)", what, len(g.LDP), len(w.LDP))
	}
	if g.JWT != w.JWT {
		t.Errorf("%s: JWT differs (got %d bytes, want %d)", what, len(g.JWT), len(w.JWT))
	}
	g.LDP, w.LDP, g.JWT, w.JWT = nil, nil, "", ""
	if !sameFields(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameListed checks a record from ListCredentials: the stored record without LDP and JWT.
func sameListed(t *testing.T, what string, got, want domain.Credential) {
	t.Helper()
	if len(got.LDP) != 0 || got.JWT != "" {
		t.Errorf("%s: a listed record carries LDP (%d bytes) or JWT (%d bytes)", what, len(got.LDP), len(got.JWT))
	}
	want.LDP, want.JWT = nil, ""
	got.LDP, got.JWT = nil, ""
	sameCredential(t, what, got, want)
}

func sameAPIKey(t *testing.T, what string, got, want domain.APIKey) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.RevokedAt)
	if g, w := normAPIKey(got), normAPIKey(want); g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func sameStatusList(t *testing.T, what string, got, want domain.StatusList) {
	t.Helper()
	checkUTC(t, what, got.UpdatedAt)
	g, w := normStatusList(got), normStatusList(want)
	if !bytes.Equal(g.Credential, w.Credential) {
		t.Errorf("%s: Credential bytes differ (got %d bytes, want %d)", what, len(g.Credential), len(w.Credential))
	}
	g.Credential, w.Credential = nil, nil
	if !sameFields(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func sameIdem(t *testing.T, what string, got, want domain.Idempotency) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.ExpiresAt)
	if g, w := normIdem(got), normIdem(want); g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameFields compares two normalized records through fmt's %#v, which spells out every field
// (the json:"-" ones too) and prints a time by its instant and zone, so once both sides are
// normalized to UTC milliseconds equal records print alike.
// sameItems fails unless got and want hold equal items in the same order; nil and empty are
// the same (adapters answer either for "none").
func sameItems[T any](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func sameFields(a, b any) bool { return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b) }

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// --- issuers and achievements

func testIssuers(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	a := issuer("iss-a")
	must(t, "create", s.CreateIssuer(ctx, a))
	got, err := s.GetIssuer(ctx, "iss-a")
	must(t, "get", err)
	sameIssuer(t, "get after create", got, a)

	dup := issuer("iss-a")
	dup.Name = "impostor"
	dup.EdKey = "other"
	wantErr(t, "second create", s.CreateIssuer(ctx, dup), domain.ErrConflict)
	got, err = s.GetIssuer(ctx, "iss-a")
	must(t, "get after conflict", err)
	sameIssuer(t, "record after a lost create", got, a)

	_, err = s.GetIssuer(ctx, "nope")
	wantErr(t, "get absent", err, domain.ErrNotFound)

	upd := a
	upd.Name, upd.Description, upd.Image = "Renamed", "", ""
	upd.Branding = domain.Branding{}
	upd.RSAKey = "rotated-rsa"
	upd.UpdatedAt = base.Add(48 * time.Hour)
	must(t, "update", s.UpdateIssuer(ctx, upd))
	got, err = s.GetIssuer(ctx, "iss-a")
	must(t, "get after update", err)
	sameIssuer(t, "get after update (a replace: cleared fields stay cleared)", got, upd)

	wantErr(t, "update absent", s.UpdateIssuer(ctx, issuer("ghost")), domain.ErrNotFound)
	_, err = s.GetIssuer(ctx, "ghost")
	wantErr(t, "update of an absent issuer must not create it", err, domain.ErrNotFound)
}

func testListIssuers(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	items, cur, err := s.ListIssuers(ctx, domain.Page{})
	must(t, "list empty", err)
	if len(items) != 0 || cur != "" {
		t.Fatalf("empty store lists %d issuers, cursor %q", len(items), cur)
	}
	var want []string
	for _, i := range []int{7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 4, 6} {
		id := fmt.Sprintf("issuer-%02d", i)
		want = append(want, id)
		must(t, "create", s.CreateIssuer(ctx, issuer(id)))
	}
	sort.Strings(want)
	for _, limit := range []int{1, 2, 7, 100, 0} {
		got := collect(t, fmt.Sprintf("ListIssuers limit %d", limit), limit, len(want), func(p domain.Page) ([]domain.Issuer, string, error) {
			return s.ListIssuers(ctx, p)
		})
		if ids := mapIDs(got, func(i domain.Issuer) string { return i.ID }); !slices.Equal(ids, want) {
			t.Errorf("ListIssuers limit %d: got %v, want %v", limit, ids, want)
		}
		if limit == 100 {
			for _, i := range got {
				sameIssuer(t, "listed issuer", i, issuer(i.ID))
			}
		}
	}
	_, _, err = s.ListIssuers(ctx, domain.Page{Cursor: "garbage!", Limit: 2})
	wantErr(t, "ListIssuers garbage cursor", err, domain.ErrInvalidCursor)
}

func testAchievements(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	a := achievement("iss-a", "ach-1")
	must(t, "create", s.CreateAchievement(ctx, a))
	got, err := s.GetAchievement(ctx, "iss-a", "ach-1")
	must(t, "get", err)
	sameAchievement(t, "get after create", got, a)

	// The same achievement id under another issuer is another achievement.
	b := achievement("iss-b", "ach-1")
	b.Name = "B's own"
	must(t, "create same id under another issuer", s.CreateAchievement(ctx, b))
	got, err = s.GetAchievement(ctx, "iss-a", "ach-1")
	must(t, "get A's", err)
	sameAchievement(t, "A's achievement after B created the same id", got, a)

	dup := a
	dup.Name = "impostor"
	wantErr(t, "second create", s.CreateAchievement(ctx, dup), domain.ErrConflict)
	got, err = s.GetAchievement(ctx, "iss-a", "ach-1")
	must(t, "get after conflict", err)
	sameAchievement(t, "record after a lost create", got, a)

	_, err = s.GetAchievement(ctx, "iss-a", "nope")
	wantErr(t, "get absent", err, domain.ErrNotFound)
	_, err = s.GetAchievement(ctx, "iss-c", "ach-1")
	wantErr(t, "get through the wrong issuer", err, domain.ErrNotFound)

	upd := a
	upd.Name = "Renamed"
	upd.Alignments = nil
	upd.Skills = []string{"only-one"}
	upd.Mail = domain.MailText{}
	upd.UpdatedAt = base.Add(time.Hour)
	must(t, "update", s.UpdateAchievement(ctx, upd))
	got, err = s.GetAchievement(ctx, "iss-a", "ach-1")
	must(t, "get after update", err)
	sameAchievement(t, "get after update", got, upd)
	got, err = s.GetAchievement(ctx, "iss-b", "ach-1")
	must(t, "get B's", err)
	sameAchievement(t, "B's achievement after A's update", got, b)

	wantErr(t, "update absent", s.UpdateAchievement(ctx, achievement("iss-a", "ghost")), domain.ErrNotFound)
	_, err = s.GetAchievement(ctx, "iss-a", "ghost")
	wantErr(t, "update of an absent achievement must not create it", err, domain.ErrNotFound)
}

func testListAchievements(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	var want []string
	for _, i := range []int{4, 1, 9, 3, 0, 8, 2, 7, 5, 6} {
		id := fmt.Sprintf("ach-%02d", i)
		want = append(want, id)
		must(t, "create A", s.CreateAchievement(ctx, achievement("iss-a", id)))
		// Another issuer with overlapping ids, and one whose id extends A's: neither may leak.
		must(t, "create B", s.CreateAchievement(ctx, achievement("iss-b", id)))
		must(t, "create A2", s.CreateAchievement(ctx, achievement("iss-a2", id+"-x")))
	}
	sort.Strings(want)
	var firstCursor string
	for _, limit := range []int{1, 2, 7, 100, 0} {
		got := collect(t, fmt.Sprintf("ListAchievements limit %d", limit), limit, len(want), func(p domain.Page) ([]domain.Achievement, string, error) {
			if limit == 1 && p.Cursor != "" && firstCursor == "" {
				firstCursor = p.Cursor
			}
			return s.ListAchievements(ctx, "iss-a", p)
		})
		if ids := mapIDs(got, func(a domain.Achievement) string { return a.IssuerID + "/" + a.ID }); !slices.Equal(ids, prefixAll("iss-a/", want)) {
			t.Errorf("ListAchievements limit %d: got %v, want %v", limit, ids, prefixAll("iss-a/", want))
		}
		if limit == 100 {
			for _, a := range got {
				sameAchievement(t, "listed achievement", a, achievement("iss-a", a.ID))
			}
		}
	}
	items, cur, err := s.ListAchievements(ctx, "iss-none", domain.Page{Limit: 5})
	must(t, "list of an issuer without achievements", err)
	if len(items) != 0 || cur != "" {
		t.Errorf("issuer without achievements: %d items, cursor %q", len(items), cur)
	}
	if firstCursor == "" {
		t.Fatal("limit 1 paging returned no cursor")
	}
	_, _, err = s.ListAchievements(ctx, "iss-b", domain.Page{Cursor: firstCursor, Limit: 2})
	wantErr(t, "A's cursor on B's listing", err, domain.ErrInvalidCursor)
	_, _, err = s.ListAchievements(ctx, "iss-a", domain.Page{Cursor: "%%%", Limit: 2})
	wantErr(t, "garbage cursor", err, domain.ErrInvalidCursor)
}

// --- credentials

// testCredentialCreateAudited: a store creates a credential with its issue event in one write
// (domain.AuditedCreator): both or neither.
func testCredentialCreateAudited(t *testing.T, s domain.Store) {
	ac, ok := s.(domain.AuditedCreator)
	if !ok {
		t.Fatalf("%T does not create a credential with its issue event in one write (domain.AuditedCreator)", s)
	}
	ctx := ctxT(t)
	c := credential("iss-a", "ach-1", "cred-1", base, "ek-1")
	c.StatusReason = ""
	ev := domain.AuditEvent{IssuerID: "iss-a", CredentialID: "cred-1", Action: "issue", Actor: "key-1", At: base, RequestID: "req-1"}
	must(t, "create", ac.CreateCredentialAudited(ctx, c, &ev))
	got, err := s.GetCredential(ctx, "cred-1")
	must(t, "get", err)
	sameCredential(t, "get after an audited create", got, c)
	events, err := s.ListAudit(ctx, "cred-1")
	must(t, "audit", err)
	if len(events) != 1 || normAudit(events[0]) != normAudit(ev) {
		t.Fatalf("audit after an audited create: %+v, want [%+v]", events, ev)
	}
	again := ev
	again.RequestID = "req-2"
	wantErr(t, "second audited create with the same id", ac.CreateCredentialAudited(ctx, c, &again), domain.ErrConflict)
	if events, err := s.ListAudit(ctx, "cred-1"); err != nil || len(events) != 1 {
		t.Fatalf("a lost create appended its event: %+v, %v", events, err)
	}
	c2 := credential("iss-a", "ach-1", "cred-2", base, "ek-1")
	c2.StatusReason = ""
	must(t, "create without an event", ac.CreateCredentialAudited(ctx, c2, nil))
	if events, err := s.ListAudit(ctx, "cred-2"); err != nil || len(events) != 0 {
		t.Fatalf("events of a create without one: %+v, %v", events, err)
	}
}

func testCredentialCreateGet(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	c := credential("iss-a", "ach-1", "cred-1", base, "ek-1")
	c.StatusReason = "" // a fresh credential
	must(t, "create", s.CreateCredential(ctx, c))
	got, err := s.GetCredential(ctx, "cred-1")
	must(t, "get", err)
	sameCredential(t, "get after create", got, c)

	dup := credential("iss-b", "ach-9", "cred-1", base.Add(time.Hour), "ek-other")
	dup.LDP, dup.JWT, dup.Status = []byte("{}"), "x.y.z", domain.StatusRevoked
	wantErr(t, "second create with the same id", s.CreateCredential(ctx, dup), domain.ErrConflict)
	got, err = s.GetCredential(ctx, "cred-1")
	must(t, "get after conflict", err)
	sameCredential(t, "record after a lost create", got, c)
	// The lost create must not have left index entries behind either.
	for _, f := range []domain.CredentialFilter{{}, {AchievementID: "ach-9"}, {EmailKey: "ek-other"}} {
		items, _, err := s.ListCredentials(ctx, "iss-b", f, domain.Page{Limit: 10})
		must(t, "list B", err)
		if len(items) != 0 {
			t.Errorf("lost create left %d entries in B's listing with filter %+v", len(items), f)
		}
	}
	items, _, err := s.ListCredentials(ctx, "iss-a", domain.CredentialFilter{}, domain.Page{Limit: 10})
	must(t, "list A", err)
	if len(items) != 1 {
		t.Fatalf("A lists %d credentials after one create and one lost create, want 1", len(items))
	}
	sameListed(t, "listed credential", items[0], c)

	_, err = s.GetCredential(ctx, "nope")
	wantErr(t, "get absent", err, domain.ErrNotFound)

	// A credential without e-mail key, validity end or mail state is fine too.
	bare := domain.Credential{ID: "cred-bare", IssuerID: "iss-a", AchievementID: "ach-1", IssuedAt: base, ValidFrom: base, Status: domain.StatusActive}
	must(t, "create bare", s.CreateCredential(ctx, bare))
	got, err = s.GetCredential(ctx, "cred-bare")
	must(t, "get bare", err)
	sameCredential(t, "bare credential", got, bare)
}

// credSet is the fixture of the listing tests: issuer A's credentials over two achievements and
// three e-mail keys with some equal IssuedAt times (the id breaks the tie), interleaved in time
// with issuer B's credentials that share achievement ids, e-mail keys and timestamps.
func credSet(t *testing.T, s domain.Store) []domain.Credential {
	ctx := ctxT(t)
	var mine []domain.Credential
	for i := range 23 {
		at := base.Add(time.Duration(i/3) * time.Minute) // groups of three share IssuedAt
		ach := []string{"ach-1", "ach-2"}[i%2]
		ek := []string{"ek-1", "ek-2", "ek-3"}[i%3]
		if i%5 == 0 {
			ek = "" // no e-mail key: never matches an e-mail filter
		}
		c := credential("iss-a", ach, fmt.Sprintf("a-%02d", (i*7)%23), at, ek)
		mine = append(mine, c)
		other := credential("iss-b", ach, fmt.Sprintf("b-%02d", i), at, ek)
		// Create in an order unrelated to the expected listing order.
		if i%2 == 0 {
			must(t, "create A", s.CreateCredential(ctx, c))
			must(t, "create B", s.CreateCredential(ctx, other))
		} else {
			must(t, "create B", s.CreateCredential(ctx, other))
			must(t, "create A", s.CreateCredential(ctx, c))
		}
	}
	// An issuer whose id extends A's must not leak into A's listing.
	must(t, "create A2", s.CreateCredential(ctx, credential("iss-a-2", "ach-1", "a2-1", base, "ek-1")))
	return mine
}

func expectListing(all []domain.Credential, f domain.CredentialFilter) []string {
	var sel []domain.Credential
	for _, c := range all {
		if f.AchievementID != "" && c.AchievementID != f.AchievementID {
			continue
		}
		if f.EmailKey != "" && c.EmailKey != f.EmailKey {
			continue
		}
		sel = append(sel, c)
	}
	sort.Slice(sel, func(i, j int) bool {
		if !sel[i].IssuedAt.Equal(sel[j].IssuedAt) {
			return sel[i].IssuedAt.After(sel[j].IssuedAt)
		}
		return sel[i].ID > sel[j].ID
	})
	return mapIDs(sel, func(c domain.Credential) string { return c.ID })
}

func testListCredentials(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	mine := credSet(t, s)
	byID := map[string]domain.Credential{}
	for _, c := range mine {
		byID[c.ID] = c
	}
	filters := []domain.CredentialFilter{
		{},
		{AchievementID: "ach-1"},
		{AchievementID: "ach-2"},
		{EmailKey: "ek-1"},
		{EmailKey: "ek-3"},
		{AchievementID: "ach-1", EmailKey: "ek-2"},
		{AchievementID: "ach-2", EmailKey: "ek-1"},
		{AchievementID: "ach-none"},
		{EmailKey: "ek-none"},
		{AchievementID: "ach-1", EmailKey: "ek-none"},
	}
	for _, f := range filters {
		want := expectListing(mine, f)
		if f.AchievementID != "ach-none" && f.EmailKey != "ek-none" && len(want) < 2 {
			t.Fatalf("fixture too small for filter %+v", f)
		}
		for _, limit := range []int{1, 2, 7, 100, 0} {
			what := fmt.Sprintf("ListCredentials %+v limit %d", f, limit)
			got := collect(t, what, limit, len(want), func(p domain.Page) ([]domain.Credential, string, error) {
				return s.ListCredentials(ctx, "iss-a", f, p)
			})
			if ids := mapIDs(got, func(c domain.Credential) string { return c.ID }); !slices.Equal(ids, want) {
				t.Errorf("%s:\n got %v\nwant %v", what, ids, want)
				continue
			}
			if limit == 7 {
				for _, c := range got {
					sameListed(t, what+": listed record", c, byID[c.ID])
				}
			}
		}
	}
	// B's listing holds exactly B's records.
	items := collect(t, "B's listing", 100, 23, func(p domain.Page) ([]domain.Credential, string, error) {
		return s.ListCredentials(ctx, "iss-b", domain.CredentialFilter{}, p)
	})
	for _, c := range items {
		if c.IssuerID != "iss-b" || !strings.HasPrefix(c.ID, "b-") {
			t.Errorf("B's listing holds %s of %s", c.ID, c.IssuerID)
		}
	}
	items, cur, err := s.ListCredentials(ctx, "iss-none", domain.CredentialFilter{}, domain.Page{Limit: 3})
	must(t, "list of an issuer without credentials", err)
	if len(items) != 0 || cur != "" {
		t.Errorf("issuer without credentials: %d items, cursor %q", len(items), cur)
	}
}

func testListCredentialsCursors(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	credSet(t, s)
	firstPage := func(issuerID string, f domain.CredentialFilter) string {
		t.Helper()
		items, cur, err := s.ListCredentials(ctx, issuerID, f, domain.Page{Limit: 2})
		must(t, "first page", err)
		if len(items) != 2 || cur == "" {
			t.Fatalf("first page of %s %+v: %d items, cursor %q", issuerID, f, len(items), cur)
		}
		return cur
	}
	curA := firstPage("iss-a", domain.CredentialFilter{})
	curB := firstPage("iss-b", domain.CredentialFilter{})
	curAch := firstPage("iss-a", domain.CredentialFilter{AchievementID: "ach-1"})
	curMail := firstPage("iss-a", domain.CredentialFilter{EmailKey: "ek-1"})

	// A cursor resumes where it left off, and can be used again (it is not consumed).
	for range 2 {
		items, _, err := s.ListCredentials(ctx, "iss-a", domain.CredentialFilter{}, domain.Page{Cursor: curA, Limit: 2})
		must(t, "resume", err)
		all := collect(t, "all of A", 100, 23, func(p domain.Page) ([]domain.Credential, string, error) {
			return s.ListCredentials(ctx, "iss-a", domain.CredentialFilter{}, p)
		})
		if len(items) != 2 || items[0].ID != all[2].ID || items[1].ID != all[3].ID {
			t.Fatalf("resuming with the first page's cursor gave %v, want %s, %s", mapIDs(items, func(c domain.Credential) string { return c.ID }), all[2].ID, all[3].ID)
		}
	}

	wrong := []struct {
		name     string
		issuerID string
		f        domain.CredentialFilter
		cursor   string
	}{
		{"B's cursor on A", "iss-a", domain.CredentialFilter{}, curB},
		{"A's cursor on B", "iss-b", domain.CredentialFilter{}, curA},
		{"A's cursor on A2", "iss-a-2", domain.CredentialFilter{}, curA},
		{"unfiltered cursor on an achievement filter", "iss-a", domain.CredentialFilter{AchievementID: "ach-1"}, curA},
		{"achievement cursor on the unfiltered listing", "iss-a", domain.CredentialFilter{}, curAch},
		{"achievement cursor on another achievement", "iss-a", domain.CredentialFilter{AchievementID: "ach-2"}, curAch},
		{"e-mail cursor on the unfiltered listing", "iss-a", domain.CredentialFilter{}, curMail},
		{"e-mail cursor on another e-mail key", "iss-a", domain.CredentialFilter{EmailKey: "ek-2"}, curMail},
		// Same string, other kind of filter: the cursor must carry which index it walks.
		{"achievement cursor on an e-mail key spelled like the achievement", "iss-a", domain.CredentialFilter{EmailKey: "ach-1"}, curAch},
		{"e-mail cursor on an achievement spelled like the e-mail key", "iss-a", domain.CredentialFilter{AchievementID: "ek-1"}, curMail},
		{"not base64", "iss-a", domain.CredentialFilter{}, "***not a cursor***"},
		{"truncated", "iss-a", domain.CredentialFilter{}, curA[:len(curA)/2]},
		{"with a suffix", "iss-a", domain.CredentialFilter{}, curA + "AAAA"},
		{"base64 of garbage", "iss-a", domain.CredentialFilter{}, base64.RawURLEncoding.EncodeToString([]byte("\x00\xff garbage \x01"))},
		{"base64 of {}", "iss-a", domain.CredentialFilter{}, base64.RawURLEncoding.EncodeToString([]byte("{}"))},
		{"base64 of null", "iss-a", domain.CredentialFilter{}, base64.RawURLEncoding.EncodeToString([]byte("null"))},
		{"base64 of a JSON list", "iss-a", domain.CredentialFilter{}, base64.RawURLEncoding.EncodeToString([]byte(`["pk","sk"]`))},
		{"huge", "iss-a", domain.CredentialFilter{}, strings.Repeat("QUFB", 20000)},
		{"whitespace", "iss-a", domain.CredentialFilter{}, " "},
	}
	for _, w := range wrong {
		items, cur, err := s.ListCredentials(ctx, w.issuerID, w.f, domain.Page{Cursor: w.cursor, Limit: 2})
		if !errors.Is(err, domain.ErrInvalidCursor) {
			t.Errorf("%s: got %d items, cursor %q, error %v; want ErrInvalidCursor", w.name, len(items), cur, err)
		}
	}
}

func testUpdateCredentialStatus(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	c := credential("iss-a", "ach-1", "cred-1", base, "ek-1")
	must(t, "create", s.CreateCredential(ctx, c))
	must(t, "create other", s.CreateCredential(ctx, credential("iss-a", "ach-1", "cred-2", base, "ek-1")))

	at := base.Add(36 * time.Hour)
	ev := domain.AuditEvent{IssuerID: "iss-a", CredentialID: "cred-1", Action: "suspend", Actor: "key-1", Reason: "under review", At: at, RequestID: "req-1"}
	got, err := s.UpdateCredentialStatus(ctx, "cred-1", domain.StatusActive, domain.StatusSuspended, "under review", at, ev)
	must(t, "suspend", err)
	want := c
	want.Status, want.StatusReason, want.StatusChangedAt = domain.StatusSuspended, "under review", at
	sameCredential(t, "returned record", got, want)
	stored, err := s.GetCredential(ctx, "cred-1")
	must(t, "get", err)
	sameCredential(t, "stored record", stored, want)
	listed, _, err := s.ListCredentials(ctx, "iss-a", domain.CredentialFilter{EmailKey: "ek-1", AchievementID: "ach-1"}, domain.Page{Limit: 10})
	must(t, "list", err)
	for _, l := range listed {
		if l.ID == "cred-1" {
			sameListed(t, "listed record after the change", l, want)
		}
	}
	events, err := s.ListAudit(ctx, "cred-1")
	must(t, "audit", err)
	if len(events) != 1 || normAudit(events[0]) != normAudit(ev) {
		t.Fatalf("audit after suspend: %+v, want [%+v]", events, ev)
	}

	// Wrong `from`: nothing changes, no audit event.
	bad := domain.AuditEvent{IssuerID: "iss-a", CredentialID: "cred-1", Action: "revoke", Actor: "key-2", At: at.Add(time.Hour)}
	_, err = s.UpdateCredentialStatus(ctx, "cred-1", domain.StatusActive, domain.StatusRevoked, "nope", at.Add(time.Hour), bad)
	wantErr(t, "change from a status the credential is not in", err, domain.ErrConflict)
	stored, err = s.GetCredential(ctx, "cred-1")
	must(t, "get after conflict", err)
	sameCredential(t, "record after a lost change", stored, want)
	events, err = s.ListAudit(ctx, "cred-1")
	must(t, "audit after conflict", err)
	if len(events) != 1 {
		t.Fatalf("a lost change appended an audit event: %+v", events)
	}

	// Reinstate with an empty reason clears the reason; an event without ids or time gets them.
	at2 := at.Add(2 * time.Hour)
	got, err = s.UpdateCredentialStatus(ctx, "cred-1", domain.StatusSuspended, domain.StatusActive, "", at2, domain.AuditEvent{Action: "reinstate", Actor: "system"})
	must(t, "reinstate", err)
	want.Status, want.StatusReason, want.StatusChangedAt = domain.StatusActive, "", at2
	sameCredential(t, "reinstated record", got, want)
	events, err = s.ListAudit(ctx, "cred-1")
	must(t, "audit after reinstate", err)
	wantEv := domain.AuditEvent{IssuerID: "iss-a", CredentialID: "cred-1", Action: "reinstate", Actor: "system", At: at2}
	if len(events) != 2 || normAudit(events[1]) != normAudit(wantEv) {
		t.Fatalf("audit after reinstate: %+v, want second event %+v", events, wantEv)
	}

	other, err := s.GetCredential(ctx, "cred-2")
	must(t, "get other", err)
	sameCredential(t, "untouched neighbour", other, credential("iss-a", "ach-1", "cred-2", base, "ek-1"))
	if ev, err := s.ListAudit(ctx, "cred-2"); err != nil || len(ev) != 0 {
		t.Errorf("neighbour's audit: %v, %v", ev, err)
	}

	_, err = s.UpdateCredentialStatus(ctx, "ghost", domain.StatusActive, domain.StatusRevoked, "", at, domain.AuditEvent{Action: "revoke", Actor: "x"})
	wantErr(t, "change of an absent credential", err, domain.ErrNotFound)
	if _, err := s.GetCredential(ctx, "ghost"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a change of an absent credential created it (get: %v)", err)
	}
	if ev, err := s.ListAudit(ctx, "ghost"); err != nil || len(ev) != 0 {
		t.Errorf("a change of an absent credential left audit events: %v, %v", ev, err)
	}
}

func testUpdateCredentialStatusConcurrent(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	must(t, "create", s.CreateCredential(ctx, credential("iss-a", "ach-1", "cred-1", base, "ek-1")))
	const n = 20
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
		recs  = make([]domain.Credential, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			to := domain.StatusRevoked
			if i%2 == 1 {
				to = domain.StatusSuspended
			}
			reason := fmt.Sprintf("racer %d", i)
			at := base.Add(time.Duration(i+1) * time.Second)
			recs[i], errs[i] = s.UpdateCredentialStatus(ctx, "cred-1", domain.StatusActive, to, reason, at,
				domain.AuditEvent{IssuerID: "iss-a", CredentialID: "cred-1", Action: string(to), Actor: reason, Reason: reason, At: at})
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("racers %d and %d both changed the status", winner, i)
			}
			winner = i
		case !errors.Is(err, domain.ErrConflict):
			t.Errorf("racer %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no racer changed the status")
	}
	stored, err := s.GetCredential(ctx, "cred-1")
	must(t, "get", err)
	if stored.StatusReason != fmt.Sprintf("racer %d", winner) || stored.Status != recs[winner].Status {
		t.Errorf("stored %s/%q, winner was racer %d with %s", stored.Status, stored.StatusReason, winner, recs[winner].Status)
	}
	events, err := s.ListAudit(ctx, "cred-1")
	must(t, "audit", err)
	if len(events) != 1 || events[0].Actor != fmt.Sprintf("racer %d", winner) {
		t.Errorf("audit after the race: %+v, want the winner's event only", events)
	}
}

func testUpdateCredentialMail(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	c := credential("iss-a", "ach-1", "cred-1", base, "ek-1")
	must(t, "create", s.CreateCredential(ctx, c))
	m1 := domain.MailState{State: domain.MailSent, MessageID: "0100018e-abc", At: base.Add(time.Minute)}
	must(t, "mail sent", s.UpdateCredentialMail(ctx, "cred-1", m1))
	m2 := domain.MailState{State: domain.MailBounced, MessageID: "0100018e-abc", At: base.Add(2 * time.Minute), Detail: "550 5.1.1 user unknown — ünknown"}
	must(t, "mail bounced", s.UpdateCredentialMail(ctx, "cred-1", m2))
	got, err := s.GetCredential(ctx, "cred-1")
	must(t, "get", err)
	want := c
	want.Mail = m2
	sameCredential(t, "after two mail updates (last write wins)", got, want)

	// Mail and status are separate fields: a status change keeps the mail state and vice versa.
	_, err = s.UpdateCredentialStatus(ctx, "cred-1", domain.StatusActive, domain.StatusRevoked, "r", base.Add(time.Hour), domain.AuditEvent{Action: "revoke", Actor: "a"})
	must(t, "revoke", err)
	m3 := domain.MailState{State: domain.MailQueued}
	must(t, "mail queued again", s.UpdateCredentialMail(ctx, "cred-1", m3))
	got, err = s.GetCredential(ctx, "cred-1")
	must(t, "get", err)
	want.Mail, want.Status, want.StatusReason, want.StatusChangedAt = m3, domain.StatusRevoked, "r", base.Add(time.Hour)
	sameCredential(t, "after status change and mail update", got, want)

	wantErr(t, "mail update of an absent credential", s.UpdateCredentialMail(ctx, "ghost", m1), domain.ErrNotFound)
	if _, err := s.GetCredential(ctx, "ghost"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a mail update of an absent credential created it (get: %v)", err)
	}
}

// --- status lists

func testStatusIndexes(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	count := func(iss, list string) int {
		t.Helper()
		n, err := s.CountStatusIndexes(ctx, iss, list)
		must(t, "count", err)
		return n
	}
	if n := count("iss-a", "1"); n != 0 {
		t.Fatalf("count of an unused list = %d", n)
	}
	must(t, "claim 5", s.ClaimStatusIndex(ctx, "iss-a", "1", 5))
	wantErr(t, "claim 5 again", s.ClaimStatusIndex(ctx, "iss-a", "1", 5), domain.ErrConflict)
	if n := count("iss-a", "1"); n != 1 {
		t.Fatalf("count after one claim and one lost claim = %d, want 1", n)
	}
	// The same index in another list pair or another issuer is free.
	must(t, "claim 5 in list 2", s.ClaimStatusIndex(ctx, "iss-a", "2", 5))
	must(t, "claim 5 in list 1 of B", s.ClaimStatusIndex(ctx, "iss-b", "1", 5))
	// Ids that contain separators must not collide when the adapter joins them into keys.
	must(t, "claim 9 in iss-a / 1#2", s.ClaimStatusIndex(ctx, "iss-a", "1#2", 9))
	must(t, "claim 9 in iss-a#1 / 2", s.ClaimStatusIndex(ctx, "iss-a#1", "2", 9))
	for _, i := range []int{0, 131071, 6, 50, 1 << 20} {
		must(t, fmt.Sprintf("claim %d", i), s.ClaimStatusIndex(ctx, "iss-a", "1", i))
	}
	wantErr(t, "claim 0 again", s.ClaimStatusIndex(ctx, "iss-a", "1", 0), domain.ErrConflict)
	wantErr(t, "claim 131071 again", s.ClaimStatusIndex(ctx, "iss-a", "1", 131071), domain.ErrConflict)
	for _, c := range []struct {
		iss, list string
		want      int
	}{{"iss-a", "1", 6}, {"iss-a", "2", 1}, {"iss-b", "1", 1}, {"iss-b", "2", 0}, {"iss-a", "1#2", 1}, {"iss-a#1", "2", 1}, {"iss-c", "1", 0}} {
		if n := count(c.iss, c.list); n != c.want {
			t.Errorf("count %s/%q = %d, want %d", c.iss, c.list, n, c.want)
		}
	}
	err := s.ClaimStatusIndex(ctx, "iss-a", "1", -1)
	if err == nil || errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
		t.Errorf("claim of index -1: %v, want a validation error", err)
	}
	if n := count("iss-a", "1"); n != 6 {
		t.Errorf("count after a refused claim = %d, want 6", n)
	}
}

func testStatusIndexesConcurrent(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	const n = 20
	race := func(index func(i int) int) []error {
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.ClaimStatusIndex(ctx, "iss-a", "1", index(i))
			}()
		}
		close(start)
		wg.Wait()
		return errs
	}
	wins := 0
	for i, err := range race(func(int) int { return 777 }) {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, domain.ErrConflict):
			t.Errorf("claimer %d of the same index: %v, want nil or ErrConflict", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d claimers won index 777, want exactly 1", wins)
	}
	// Claims of different indexes of one list must all succeed: contention on the list's counter
	// is the store's problem, not the caller's.
	for i, err := range race(func(i int) int { return 1000 + i }) {
		if err != nil {
			t.Errorf("claimer %d of its own index: %v", i, err)
		}
	}
	got, err := s.CountStatusIndexes(ctx, "iss-a", "1")
	must(t, "count", err)
	if got != n+1 {
		t.Errorf("count after the races = %d, want %d", got, n+1)
	}
}

func testStatusLists(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	_, err := s.GetStatusList(ctx, "iss-a", "1-revocation")
	wantErr(t, "get absent", err, domain.ErrNotFound)
	mk := func(v int64, enc string) domain.StatusList {
		return domain.StatusList{IssuerID: "iss-a", ListID: "1-revocation", Purpose: domain.PurposeRevocation,
			Encoded: enc, Credential: []byte(`{"type":["VerifiableCredential","BitstringStatusListCredential"],"v":` + fmt.Sprint(v) + `}`),
			Version: v, UpdatedAt: base.Add(time.Duration(v) * time.Minute)}
	}
	wantErr(t, "create with version 2", s.PutStatusList(ctx, mk(2, "x")), domain.ErrConflict)
	if _, err := s.GetStatusList(ctx, "iss-a", "1-revocation"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a refused create stored a list (get: %v)", err)
	}
	v1 := mk(1, "H4sIAAAAAAAA_-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA")
	must(t, "create v1", s.PutStatusList(ctx, v1))
	got, err := s.GetStatusList(ctx, "iss-a", "1-revocation")
	must(t, "get v1", err)
	sameStatusList(t, "v1", got, v1)

	wantErr(t, "create v1 again", s.PutStatusList(ctx, mk(1, "other")), domain.ErrConflict)
	wantErr(t, "skip to v3", s.PutStatusList(ctx, mk(3, "other")), domain.ErrConflict)
	got, err = s.GetStatusList(ctx, "iss-a", "1-revocation")
	must(t, "get after conflicts", err)
	sameStatusList(t, "v1 after lost writes", got, v1)

	v2 := mk(2, "second")
	must(t, "update to v2", s.PutStatusList(ctx, v2))
	wantErr(t, "stale v2", s.PutStatusList(ctx, mk(2, "stale")), domain.ErrConflict)
	got, err = s.GetStatusList(ctx, "iss-a", "1-revocation")
	must(t, "get v2", err)
	sameStatusList(t, "v2 after a stale write", got, v2)

	// Lists are per issuer and per list id.
	other := mk(1, "b")
	other.IssuerID = "iss-b"
	must(t, "B's list v1", s.PutStatusList(ctx, other))
	sus := mk(1, "s")
	sus.ListID, sus.Purpose = "1-suspension", domain.PurposeSuspension
	must(t, "suspension list v1", s.PutStatusList(ctx, sus))
	got, err = s.GetStatusList(ctx, "iss-b", "1-revocation")
	must(t, "get B's", err)
	sameStatusList(t, "B's list", got, other)
	got, err = s.GetStatusList(ctx, "iss-a", "1-suspension")
	must(t, "get suspension", err)
	sameStatusList(t, "suspension list", got, sus)

	// Ten writers race from v2 to v3: exactly one wins.
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, 10)
	)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.PutStatusList(ctx, mk(3, fmt.Sprintf("writer %d", i)))
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("writers %d and %d both wrote version 3", winner, i)
			}
			winner = i
		} else if !errors.Is(err, domain.ErrConflict) {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer wrote version 3")
	}
	got, err = s.GetStatusList(ctx, "iss-a", "1-revocation")
	must(t, "get v3", err)
	if got.Version != 3 || got.Encoded != fmt.Sprintf("writer %d", winner) {
		t.Errorf("after the race: version %d %q, winner was writer %d", got.Version, got.Encoded, winner)
	}

	if err := s.PutStatusList(ctx, mk(0, "zero")); err == nil {
		t.Error("version 0 accepted")
	}
}

// --- API keys

func testAPIKeys(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	admin1 := apiKey("k-admin-1", "", base.Add(2*time.Minute))
	admin2 := apiKey("k-admin-2", "", base.Add(time.Minute))
	a1 := apiKey("k-a-1", "iss-a", base.Add(3*time.Minute))
	a2 := apiKey("k-a-2", "iss-a", base.Add(time.Minute))
	a3 := apiKey("k-a-0", "iss-a", base.Add(time.Minute)) // same time as a2: the id decides
	b1 := apiKey("k-b-1", "iss-b", base)
	for _, k := range []domain.APIKey{admin1, a1, b1, admin2, a2, a3} {
		must(t, "create "+k.ID, s.CreateAPIKey(ctx, k))
	}
	got, err := s.GetAPIKey(ctx, "k-a-1")
	must(t, "get", err)
	sameAPIKey(t, "get by id", got, a1)
	got, err = s.GetAPIKeyByHash(ctx, a1.Hash)
	must(t, "get by hash", err)
	sameAPIKey(t, "get by hash", got, a1)

	dup := apiKey("k-a-1", "iss-b", base)
	dup.Hash = strings.Repeat("ab", 32)
	wantErr(t, "second create with the same id", s.CreateAPIKey(ctx, dup), domain.ErrConflict)
	if _, err := s.GetAPIKeyByHash(ctx, dup.Hash); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a lost create registered its hash (get by hash: %v)", err)
	}
	dupHash := apiKey("k-new", "iss-b", base)
	dupHash.Hash = a1.Hash
	wantErr(t, "create with a hash in use", s.CreateAPIKey(ctx, dupHash), domain.ErrConflict)
	if _, err := s.GetAPIKey(ctx, "k-new"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a create refused for its hash stored the key (get: %v)", err)
	}
	got, err = s.GetAPIKeyByHash(ctx, a1.Hash)
	must(t, "get by hash after conflicts", err)
	sameAPIKey(t, "hash owner after conflicts", got, a1)

	_, err = s.GetAPIKey(ctx, "nope")
	wantErr(t, "get absent", err, domain.ErrNotFound)
	_, err = s.GetAPIKeyByHash(ctx, strings.Repeat("0", 64))
	wantErr(t, "get absent hash", err, domain.ErrNotFound)

	list := func(iss string, want ...domain.APIKey) {
		t.Helper()
		got, err := s.ListAPIKeys(ctx, iss)
		must(t, "list "+iss, err)
		if len(got) != len(want) {
			t.Fatalf("ListAPIKeys(%q): %v, want %v", iss, mapIDs(got, func(k domain.APIKey) string { return k.ID }), mapIDs(want, func(k domain.APIKey) string { return k.ID }))
		}
		for i := range want {
			sameAPIKey(t, fmt.Sprintf("ListAPIKeys(%q)[%d]", iss, i), got[i], want[i])
		}
	}
	list("iss-a", a3, a2, a1)
	list("", admin2, admin1)
	list("iss-b", b1)
	list("iss-c")
	list("iss-")

	at := base.Add(time.Hour)
	got, err = s.RevokeAPIKey(ctx, "k-a-2", at)
	must(t, "revoke", err)
	a2r := a2
	a2r.RevokedAt = at
	sameAPIKey(t, "revoked key (returned)", got, a2r)
	got, err = s.GetAPIKey(ctx, "k-a-2")
	must(t, "get revoked", err)
	sameAPIKey(t, "revoked key (by id)", got, a2r)
	got, err = s.GetAPIKeyByHash(ctx, a2.Hash)
	must(t, "get revoked by hash", err)
	sameAPIKey(t, "revoked key (by hash)", got, a2r)
	list("iss-a", a3, a2r, a1)

	got, err = s.RevokeAPIKey(ctx, "k-a-2", at.Add(time.Hour))
	must(t, "revoke again", err)
	sameAPIKey(t, "revoked twice keeps the first time", got, a2r)
	got, err = s.GetAPIKeyByHash(ctx, a2.Hash)
	must(t, "get revoked by hash", err)
	sameAPIKey(t, "revoked twice (by hash)", got, a2r)

	// Racing revocations agree on one time, the one stored.
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		got3  = make([]domain.APIKey, 10)
		errs  = make([]error, 10)
	)
	for i := range got3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got3[i], errs[i] = s.RevokeAPIKey(ctx, "k-a-0", at.Add(time.Duration(i+1)*time.Minute))
		}()
	}
	close(start)
	wg.Wait()
	stored, err := s.GetAPIKeyByHash(ctx, a3.Hash)
	must(t, "get after racing revocations", err)
	if stored.RevokedAt.IsZero() {
		t.Fatal("racing revocations left the key unrevoked")
	}
	for i := range got3 {
		must(t, fmt.Sprintf("racing revocation %d", i), errs[i])
		if !got3[i].RevokedAt.Equal(stored.RevokedAt) {
			t.Errorf("racing revocation %d returned RevokedAt %v, stored is %v", i, got3[i].RevokedAt, stored.RevokedAt)
		}
	}
	if byID, err := s.GetAPIKey(ctx, "k-a-0"); err != nil || !byID.RevokedAt.Equal(stored.RevokedAt) {
		t.Errorf("by id after racing revocations: %v, %v; by hash: %v", byID.RevokedAt, err, stored.RevokedAt)
	}

	_, err = s.RevokeAPIKey(ctx, "ghost", at)
	wantErr(t, "revoke absent", err, domain.ErrNotFound)
	if _, err := s.GetAPIKey(ctx, "ghost"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("revoking an absent key created it (get: %v)", err)
	}
}

// --- audit

func testAudit(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	events := []domain.AuditEvent{
		{IssuerID: "iss-a", CredentialID: "cred-1", Action: "revoke", Actor: "k1", Reason: "fraud — betrug", At: base.Add(3 * time.Hour), RequestID: "r3"},
		{IssuerID: "iss-a", CredentialID: "cred-1", Action: "issue", Actor: "job:7", At: base, RequestID: "r1"},
		{IssuerID: "iss-a", CredentialID: "cred-1", Action: "resend", Actor: "k1", At: base.Add(time.Hour)},
		{IssuerID: "iss-a", CredentialID: "cred-1", Action: "suspend", Actor: "k1", At: base.Add(2 * time.Hour)},
		{IssuerID: "iss-a", CredentialID: "cred-10", Action: "issue", Actor: "system", At: base},
		{IssuerID: "iss-a", CredentialID: "cred-2", Action: "issue", Actor: "system", At: base.Add(time.Minute)},
		{IssuerID: "iss-a", Action: "update-issuer", Actor: "k1", At: base}, // no credential
	}
	for _, e := range events {
		must(t, "append", s.AppendAudit(ctx, e))
	}
	got, err := s.ListAudit(ctx, "cred-1")
	must(t, "list", err)
	want := []domain.AuditEvent{events[1], events[2], events[3], events[0]}
	if len(got) != len(want) {
		t.Fatalf("ListAudit(cred-1): %d events, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		checkUTC(t, "audit time", got[i].At)
		if normAudit(got[i]) != normAudit(want[i]) {
			t.Errorf("ListAudit(cred-1)[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	got, err = s.ListAudit(ctx, "cred-10")
	must(t, "list cred-10", err)
	if len(got) != 1 || normAudit(got[0]) != normAudit(events[4]) {
		t.Errorf("ListAudit(cred-10) = %+v", got)
	}
	got, err = s.ListAudit(ctx, "cred-none")
	must(t, "list of a credential without events", err)
	if len(got) != 0 {
		t.Errorf("ListAudit(cred-none) = %+v", got)
	}
	// Two events at the same instant are both kept.
	same := domain.AuditEvent{IssuerID: "iss-a", CredentialID: "cred-3", Action: "issue", Actor: "x", At: base}
	must(t, "append", s.AppendAudit(ctx, same))
	same.Action = "resend"
	must(t, "append same time", s.AppendAudit(ctx, same))
	got, err = s.ListAudit(ctx, "cred-3")
	must(t, "list cred-3", err)
	if len(got) != 2 || got[0].Action == got[1].Action {
		t.Errorf("two events at one instant: %+v", got)
	}
}

// --- idempotency

func testIdempotency(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	now := time.Now().UTC()
	rec := domain.Idempotency{Scope: "key-1 POST /v1/issuers/x/credentials", Key: "3f1c-ü", RequestHash: "h1", ResultID: "cred-1", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	got, err := s.PutIdempotency(ctx, rec)
	must(t, "put", err)
	sameIdem(t, "put result", got, rec)
	got, err = s.GetIdempotency(ctx, rec.Scope, rec.Key)
	must(t, "get", err)
	sameIdem(t, "get", got, rec)

	second := rec
	second.RequestHash, second.ResultID, second.CreatedAt = "h2", "cred-2", now.Add(time.Second)
	got, err = s.PutIdempotency(ctx, second)
	wantErr(t, "second put", err, domain.ErrConflict)
	sameIdem(t, "second put returns the first record", got, rec)
	got, err = s.GetIdempotency(ctx, rec.Scope, rec.Key)
	must(t, "get after conflict", err)
	sameIdem(t, "get after conflict", got, rec)

	// Scope and key are a pair: neither part alone identifies a record, and concatenations
	// of the two must not collide.
	other := rec
	other.Scope, other.ResultID = "key-2 POST /v1/issuers/x/credentials", "cred-3"
	_, err = s.PutIdempotency(ctx, other)
	must(t, "same key in another scope", err)
	for _, p := range [][2]string{{"a#b", "c"}, {"a", "b#c"}, {"a\x00b", "c"}, {"a", "\x00b\x00c"}} {
		r := domain.Idempotency{Scope: p[0], Key: p[1], ResultID: p[0] + "|" + p[1], CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		_, err := s.PutIdempotency(ctx, r)
		must(t, fmt.Sprintf("put %q/%q", p[0], p[1]), err)
	}
	for _, p := range [][2]string{{"a#b", "c"}, {"a", "b#c"}, {"a\x00b", "c"}, {"a", "\x00b\x00c"}} {
		got, err := s.GetIdempotency(ctx, p[0], p[1])
		must(t, fmt.Sprintf("get %q/%q", p[0], p[1]), err)
		if got.ResultID != p[0]+"|"+p[1] {
			t.Errorf("get %q/%q: result %q", p[0], p[1], got.ResultID)
		}
	}

	_, err = s.GetIdempotency(ctx, rec.Scope, "absent")
	wantErr(t, "get absent", err, domain.ErrNotFound)

	// An expired record is gone even if the backend has not deleted it yet.
	old := domain.Idempotency{Scope: "s", Key: "expired", RequestHash: "old", ResultID: "cred-old", CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-24 * time.Hour)}
	_, err = s.PutIdempotency(ctx, old)
	must(t, "put an expired record", err)
	_, err = s.GetIdempotency(ctx, "s", "expired")
	wantErr(t, "get expired", err, domain.ErrNotFound)
	fresh := old
	fresh.RequestHash, fresh.ResultID, fresh.CreatedAt, fresh.ExpiresAt = "new", "cred-new", now, now.Add(time.Hour)
	got, err = s.PutIdempotency(ctx, fresh)
	must(t, "put over an expired record", err)
	sameIdem(t, "put over an expired record", got, fresh)
	got, err = s.GetIdempotency(ctx, "s", "expired")
	must(t, "get the replacement", err)
	sameIdem(t, "replacement", got, fresh)
}

// --- payloads and times

func testPayloads(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	// Every byte value, non-ASCII UTF-8, invalid UTF-8 and a NUL: LDP is bytes, not text.
	var allBytes []byte
	for i := range 256 {
		allBytes = append(allBytes, byte(i))
	}
	big := bytes.Repeat([]byte(`{"name":"Zoë Ångström 日本語 🎓","x":"\u00e9"}`+"\n"), 130*1024/50+1)[:130*1024]
	jwtUnit := "eyJhbGciOiJSUzI1NiJ9.Zoë-日本語-" // JWTs are text: repeat whole runes only
	bigJWT := strings.Repeat(jwtUnit, 130*1024/len(jwtUnit)+1) + "ende🎓"
	cases := []struct {
		name string
		ldp  []byte
		jwt  string
	}{
		{"non-ASCII", []byte(`{"name":"Zoë Ångström — 日本語 🎓","proof":{"proofValue":"z3FXQ"}}`), "eyJhbGciOiJSUzI1NiJ9.eyJuYW1lIjoiWm_DqyJ9.sig-äöü"},
		{"all byte values", allBytes, "a.b.c"},
		{"130 KB", big, bigJWT},
	}
	for i, c := range cases {
		cr := credential("iss-a", "ach-1", fmt.Sprintf("cred-%d", i), base.Add(time.Duration(i)*time.Minute), "ek-1")
		cr.LDP, cr.JWT = c.ldp, c.jwt
		must(t, c.name+": create", s.CreateCredential(ctx, cr))
		got, err := s.GetCredential(ctx, cr.ID)
		must(t, c.name+": get", err)
		sameCredential(t, c.name+": get", got, cr)
		for _, f := range []domain.CredentialFilter{{}, {AchievementID: "ach-1"}, {EmailKey: "ek-1"}} {
			items, _, err := s.ListCredentials(ctx, "iss-a", f, domain.Page{Limit: 1})
			must(t, c.name+": list", err)
			if len(items) != 1 || items[0].ID != cr.ID {
				t.Fatalf("%s: newest listed is %v", c.name, mapIDs(items, func(c domain.Credential) string { return c.ID }))
			}
			sameListed(t, fmt.Sprintf("%s: listed with %+v", c.name, f), items[0], cr)
		}
	}
	l := domain.StatusList{IssuerID: "iss-a", ListID: "1-suspension", Purpose: domain.PurposeSuspension, Encoded: "H4sI", Credential: big, Version: 1, UpdatedAt: base}
	must(t, "status list 130 KB", s.PutStatusList(ctx, l))
	got, err := s.GetStatusList(ctx, "iss-a", "1-suspension")
	must(t, "get status list", err)
	sameStatusList(t, "130 KB status list", got, l)
}

func testTimes(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	kolkata := time.FixedZone("IST", 5*3600+1800)
	at := time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, kolkata)
	c := credential("iss-a", "ach-1", "cred-t", at, "ek")
	c.ValidUntil = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	c.Mail.At = time.Time{}
	must(t, "create", s.CreateCredential(ctx, c))
	got, err := s.GetCredential(ctx, "cred-t")
	must(t, "get", err)
	sameCredential(t, "times from another zone", got, c)
	if !got.IssuedAt.Equal(at.Truncate(time.Millisecond)) && !got.IssuedAt.Equal(at) {
		t.Errorf("IssuedAt %v, want %v", got.IssuedAt, at)
	}
	if !got.Mail.At.IsZero() {
		t.Errorf("zero mail time came back as %v", got.Mail.At)
	}
	// Ordering follows the instant, not the wall clock of the zone it was written in.
	earlierUTC := credential("iss-a", "ach-1", "cred-u", at.UTC().Add(-time.Second).In(time.FixedZone("W", -10*3600)), "ek")
	must(t, "create", s.CreateCredential(ctx, earlierUTC))
	items, _, err := s.ListCredentials(ctx, "iss-a", domain.CredentialFilter{}, domain.Page{Limit: 10})
	must(t, "list", err)
	if ids := mapIDs(items, func(c domain.Credential) string { return c.ID }); !slices.Equal(ids, []string{"cred-t", "cred-u"}) {
		t.Errorf("ordering across zones: %v", ids)
	}
	iss := issuer("iss-t")
	iss.CreatedAt = at
	must(t, "create issuer", s.CreateIssuer(ctx, iss))
	gi, err := s.GetIssuer(ctx, "iss-t")
	must(t, "get issuer", err)
	sameIssuer(t, "issuer times", gi, iss)
}

// --- invalid input and cancellation

func testInvalidInput(t *testing.T, s domain.Store) {
	ctx := ctxT(t)
	refused := func(what string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s: %v, want a validation error", what, err)
		}
	}
	refused("issuer without id", s.CreateIssuer(ctx, issuer("")))
	refused("achievement without id", s.CreateAchievement(ctx, achievement("iss-a", "")))
	refused("achievement without issuer", s.CreateAchievement(ctx, achievement("", "ach-1")))
	refused("credential without id", s.CreateCredential(ctx, credential("iss-a", "ach-1", "", base, "")))
	refused("credential without issuer", s.CreateCredential(ctx, credential("", "ach-1", "c", base, "")))
	refused("api key without id", s.CreateAPIKey(ctx, apiKey("", "", base)))
	k := apiKey("k", "", base)
	k.Hash = ""
	refused("api key without hash", s.CreateAPIKey(ctx, k))
	refused("status list without list id", s.PutStatusList(ctx, domain.StatusList{IssuerID: "iss-a", Version: 1}))
	refused("audit event without issuer or credential", s.AppendAudit(ctx, domain.AuditEvent{Action: "x"}))
	_, err := s.PutIdempotency(ctx, domain.Idempotency{Scope: "s"})
	refused("idempotency record without key", err)

	// The refusals wrote nothing: the same ids are free.
	must(t, "issuer after refusals", s.CreateIssuer(ctx, issuer("iss-a")))
	must(t, "achievement after refusals", s.CreateAchievement(ctx, achievement("iss-a", "ach-1")))
	items, _, err := s.ListIssuers(ctx, domain.Page{Limit: 10})
	must(t, "list issuers", err)
	if len(items) != 1 {
		t.Errorf("after refused creates and one good one: %d issuers, want 1", len(items))
	}
}

func testCancelledContext(t *testing.T, s domain.Store) {
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	if err := s.CreateIssuer(ctx, issuer("iss-a")); err == nil {
		t.Error("CreateIssuer with a cancelled context succeeded")
	}
	if err := s.CreateCredential(ctx, credential("iss-a", "ach-1", "c", base, "ek")); err == nil {
		t.Error("CreateCredential with a cancelled context succeeded")
	}
	live := ctxT(t)
	if _, err := s.GetIssuer(live, "iss-a"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a create with a cancelled context stored the issuer (get: %v)", err)
	}
	if _, err := s.GetCredential(live, "c"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a create with a cancelled context stored the credential (get: %v)", err)
	}
}

// --- paging helpers

// collect pages through a listing with the given limit and checks the paging promises: every
// page full except the last, the last cursor empty, no empty page unless the listing is empty,
// no record twice.
func collect[T any](t *testing.T, what string, limit, total int, list func(domain.Page) ([]T, string, error)) []T {
	t.Helper()
	var (
		all    []T
		cursor string
	)
	for page := 0; ; page++ {
		if page > total+2 {
			t.Fatalf("%s: more than %d pages for %d records: the cursor does not advance", what, total+2, total)
		}
		items, next, err := list(domain.Page{Cursor: cursor, Limit: limit})
		if err != nil {
			t.Fatalf("%s: page %d: %v", what, page, err)
		}
		if limit > 0 && len(items) > limit {
			t.Fatalf("%s: page %d holds %d records, limit %d", what, page, len(items), limit)
		}
		if len(items) == 0 && (page > 0 || total > 0) {
			t.Fatalf("%s: page %d is empty (cursor %q)", what, page, cursor)
		}
		all = append(all, items...)
		if next == "" {
			break
		}
		if limit > 0 && len(items) != limit {
			t.Fatalf("%s: page %d holds %d records but more follow (limit %d)", what, page, len(items), limit)
		}
		if next == cursor {
			t.Fatalf("%s: page %d returned the cursor it was given", what, page)
		}
		cursor = next
	}
	if len(all) != total {
		t.Fatalf("%s: %d records across pages, want %d", what, len(all), total)
	}
	return all
}

func mapIDs[T any](items []T, id func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func prefixAll(p string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = p + id
	}
	return out
}
