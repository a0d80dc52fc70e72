// Package dynamostore is the DynamoDB domain.Store: one on-demand table with a partition key
// pk, a sort key sk, two global secondary indexes gsi1 (gsi1pk, gsi1sk) and gsi2 (gsi2pk,
// gsi2sk), both projecting ALL, and TTL on the number attribute ttl. Every access path is a
// GetItem, a conditional write, or a Query on a key; nothing scans.
//
// Items ("x" is an escaped id: '%' and '#' inside ids are written %25 and %23, so no id can
// forge a separator; ts is a fixed-width UTC timestamp with nanoseconds, so it sorts as time):
//
//	item                      pk                         sk                     gsi1pk / gsi1sk            gsi2pk / gsi2sk
//	issuer                    ISSUER#iss                 META                   ISSUERS / iss              -
//	achievement               ISSUER#iss                 ACH#ach                -                          -
//	status list               ISSUER#iss                 STATUSLIST#list        -                          -
//	audit event (issuer)      ISSUER#iss                 AUDIT#ts#seq           -                          -
//	credential record         CRED#id                    META                   ISSUER#iss#CRED / ts#id    ISSUER#iss#ACH#ach / ts#id
//	credential LDP + JWT      CRED#id                    DOC                    -                          -
//	credential e-mail entry   CRED#id                    EMAIL                  -                          ISSUER#iss#EMAIL#emailKey / ts#id
//	audit event (credential)  CRED#id                    AUDIT#ts#seq           -                          -
//	status index claim        STATUSIDX#iss#list         IDX#<index, 20 digits> -                          -
//	status index counter      STATUSIDX#iss#list         COUNT                  -                          -
//	api key                   APIKEY#id                  META                   APIKEYS[#iss] / ts#id      -
//	api key by hash           APIKEYHASH#hash            META                   -                          -
//	idempotency record        IDEM#scope#key             META                   -                          -   (ttl)
//
// Access paths:
//
//	GetIssuer, GetAchievement, GetStatusList   GetItem (consistent)
//	ListIssuers                                Query gsi1 ISSUERS, ascending
//	ListAchievements                           Query pk ISSUER#iss, sk begins_with ACH#
//	GetCredential                              Query pk CRED#id, sk between DOC and META (record + LDP/JWT, consistent)
//	ListCredentials                            Query gsi1 ISSUER#iss#CRED descending; with an achievement,
//	                                           gsi2 ISSUER#iss#ACH#ach; with an e-mail key, gsi2 ISSUER#iss#EMAIL#key
//	                                           (achievement as a filter on top) and BatchGetItem of the records
//	ListAudit                                  Query pk CRED#id, sk begins_with AUDIT#
//	CountStatusIndexes                         GetItem of the counter
//	GetAPIKeyByHash, GetAPIKey                 GetItem (consistent)
//	ListAPIKeys                                Query gsi1 APIKEYS#iss (APIKEYS for admin-wide keys)
//
// Writes: creates are conditional (attribute_not_exists(pk)); a credential's record, LDP/JWT
// item and e-mail entry are one TransactWriteItems; a status change is a TransactWriteItems of
// the record update (conditioned on the current status) and the audit event; a status index
// claim is a TransactWriteItems of the claim item (attribute_not_exists) and an ADD on the
// counter; a status list put is conditioned on its Version; an API key and its by-hash copy are
// written (and revoked) together. Transactions that DynamoDB cancels for a conflicting
// concurrent transaction are retried with backoff; a condition that fails is domain.ErrConflict.
//
// The signed artefacts (LDP, JWT) live in their own item, not in the record: the record is
// copied into both indexes (projection ALL) and rewritten on every status and mail update, so
// keeping the few kilobytes of LDP and JWT out of it keeps index storage and write units small.
// GSI reads are eventually consistent on AWS: a credential may take a moment to appear in
// ListCredentials after CreateCredential returns.
package dynamostore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

// Store is the DynamoDB implementation of domain.Store. It is safe for concurrent use.
type Store struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time // idempotency expiry; a field so tests can pin it
}

var _ domain.Store = (*Store)(nil)

// New returns a Store on table, which must have the schema CreateTable creates.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{db: client, table: table, now: time.Now}
}

// --- errors and retries

func isConditionFailed(err error) bool {
	var e *types.ConditionalCheckFailedException
	return errors.As(err, &e)
}

// cancelReasons returns the per-item reason codes of a cancelled transaction.
func cancelReasons(err error) ([]string, bool) {
	var e *types.TransactionCanceledException
	if !errors.As(err, &e) {
		return nil, false
	}
	codes := make([]string, len(e.CancellationReasons))
	for i, r := range e.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes, true
}

// txConditionFailed reports which items of a cancelled transaction failed their condition.
func txConditionFailed(err error) ([]bool, bool) {
	codes, ok := cancelReasons(err)
	if !ok {
		return nil, false
	}
	failed := make([]bool, len(codes))
	anyFailed := false
	for i, c := range codes {
		if c == "ConditionalCheckFailed" {
			failed[i], anyFailed = true, true
		}
	}
	return failed, anyFailed
}

// isContention is true for a write that lost to a concurrent transaction on the same item,
// with no condition of its own failing: trying again is the right answer.
func isContention(err error) bool {
	var tc *types.TransactionConflictException
	if errors.As(err, &tc) {
		return true
	}
	codes, ok := cancelReasons(err)
	if !ok {
		return false
	}
	conflict := false
	for _, c := range codes {
		switch c {
		case "TransactionConflict":
			conflict = true
		case "", "None":
		default:
			return false
		}
	}
	return conflict
}

// maxAttempts bounds the retries of a contended write; with the backoff below that is about
// two seconds of trying before the caller sees ErrConflict.
const maxAttempts = 14

// backoff is the first and the largest wait between attempts (a variable for tests).
var backoff = struct{ first, max time.Duration }{4 * time.Millisecond, 300 * time.Millisecond}

// retry runs fn until it succeeds or fails for a reason other than contention.
func retry(ctx context.Context, what string, fn func() error) error {
	delay := backoff.first
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !isContention(err) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("%s: still contended after %d attempts: %w (%v)", what, attempt, domain.ErrConflict, err)
		}
		wait := delay/2 + rand.N(delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(wait):
		}
		delay = min(delay*2, backoff.max)
	}
}

// --- request helpers

func (s *Store) getItem(ctx context.Context, pk, sk string) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            item{attrPK: sAV(pk), attrSK: sAV(sk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, domain.ErrNotFound
	}
	return out.Item, nil
}

// putIf writes it when cond holds; a failed condition is returned as onFail.
func (s *Store) putIf(ctx context.Context, what string, it item, cond string, names map[string]string, values item, onFail error) error {
	if err := checkSize(what, it); err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: it, ConditionExpression: &cond}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	err := retry(ctx, what, func() error {
		_, err := s.db.PutItem(ctx, in)
		return err
	})
	switch {
	case err == nil:
		return nil
	case isConditionFailed(err):
		return fmt.Errorf("%s: %w", what, onFail)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}

// transact runs a TransactWriteItems, retrying contention. A fresh input per attempt gets a
// fresh client token: the SDK reuses a token only across its own retries of one attempt.
func (s *Store) transact(ctx context.Context, what string, build func() []types.TransactWriteItem) error {
	return retry(ctx, what, func() error {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: build()})
		return err
	})
}

// queryPage runs a Query for one page of limit items. It asks for one item more than the page,
// so the cursor it returns is "" exactly when nothing follows, and keeps going while a filter
// leaves pages short. The cursor is made of keyAttrs of the page's last item.
func (s *Store) queryPage(ctx context.Context, in *dynamodb.QueryInput, limit int, keyAttrs []string) ([]item, string, error) {
	in.Limit = aws.Int32(int32(limit + 1))
	return s.queryUpTo(ctx, in, limit, keyAttrs)
}

// queryUpTo is queryPage without a Limit on the requests: each reads as much as DynamoDB
// allows (1 MB), which suits a filter that keeps few of the items read, where a Limit (applied
// before the filter) would make many round trips of near-empty pages.
func (s *Store) queryUpTo(ctx context.Context, in *dynamodb.QueryInput, limit int, keyAttrs []string) ([]item, string, error) {
	in.TableName = &s.table
	var items []item
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", err
		}
		items = append(items, out.Items...)
		if len(items) > limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	cursor, err := encodeCursor(items[limit-1], keyAttrs)
	if err != nil {
		return nil, "", err
	}
	return items, cursor, nil
}

// queryAll runs a Query to the end (for the short per-owner lists: audit, API keys).
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput) ([]item, error) {
	in.TableName = &s.table
	var items []item
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// tiebreak orders items with equal timestamps by when they were written (within a process)
// and keeps their keys distinct (across processes).
func tiebreak() string {
	var b [4]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read does not fail on supported platforms
	return fmt.Sprintf("%019d%s", time.Now().UnixNano(), hex.EncodeToString(b[:]))
}

// --- issuers

func issuerItem(iss domain.Issuer) (item, error) {
	return newItem(attrPK, issuerPK(iss.ID), attrSK, skMeta, attrGSI1PK, gsiAllIssuers, attrGSI1SK, esc(iss.ID), "type", "issuer").
		s("id", iss.ID).s("name", iss.Name).s("url", iss.URL).s("email", iss.Email).
		s("description", iss.Description).s("image", iss.Image).
		s("primaryColor", iss.Branding.PrimaryColor).s("logo", iss.Branding.Logo).s("did", iss.DID).
		s("statusPurposes", strings.Join(iss.StatusPurposes, ",")).s("edKey", string(iss.EdKey)).s("rsaKey", string(iss.RSAKey)).
		t("createdAt", iss.CreatedAt).t("updatedAt", iss.UpdatedAt).done()
}

func issuerFrom(m item) (domain.Issuer, error) {
	d := &dec{m: m}
	iss := domain.Issuer{
		ID: d.s("id"), Name: d.s("name"), URL: d.s("url"), Email: d.s("email"),
		Description: d.s("description"), Image: d.s("image"),
		Branding: domain.Branding{PrimaryColor: d.s("primaryColor"), Logo: d.s("logo")}, DID: d.s("did"),
		EdKey: domain.KeyRef(d.s("edKey")), RSAKey: domain.KeyRef(d.s("rsaKey")),
		CreatedAt: d.t("createdAt"), UpdatedAt: d.t("updatedAt"),
	}
	if d.err != nil {
		return domain.Issuer{}, fmt.Errorf("decode issuer: %w", d.err)
	}
	if sp := d.s("statusPurposes"); sp != "" {
		iss.StatusPurposes = strings.Split(sp, ",")
	}
	return iss, nil
}

// CreateIssuer implements domain.Store.
func (s *Store) CreateIssuer(ctx context.Context, iss domain.Issuer) error {
	if err := domain.CheckKeys("issuer id", iss.ID); err != nil {
		return fmt.Errorf("create issuer: %w", err)
	}
	it, err := issuerItem(iss)
	if err != nil {
		return fmt.Errorf("create issuer %s: %w", iss.ID, err)
	}
	return s.putIf(ctx, "create issuer "+iss.ID, it, "attribute_not_exists(pk)", nil, nil, domain.ErrConflict)
}

// GetIssuer implements domain.Store.
func (s *Store) GetIssuer(ctx context.Context, id string) (domain.Issuer, error) {
	m, err := s.getItem(ctx, issuerPK(id), skMeta)
	if err != nil {
		return domain.Issuer{}, fmt.Errorf("get issuer %s: %w", id, err)
	}
	return issuerFrom(m)
}

// UpdateIssuer implements domain.Store.
func (s *Store) UpdateIssuer(ctx context.Context, iss domain.Issuer) error {
	if err := domain.CheckKeys("issuer id", iss.ID); err != nil {
		return fmt.Errorf("update issuer: %w", err)
	}
	it, err := issuerItem(iss)
	if err != nil {
		return fmt.Errorf("update issuer %s: %w", iss.ID, err)
	}
	return s.putIf(ctx, "update issuer "+iss.ID, it, "attribute_exists(pk)", nil, nil, domain.ErrNotFound)
}

// ListIssuers implements domain.Store: by id, ascending.
func (s *Store) ListIssuers(ctx context.Context, p domain.Page) ([]domain.Issuer, string, error) {
	in := &dynamodb.QueryInput{
		IndexName:                 aws.String(indexGSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :p"),
		ExpressionAttributeValues: item{":p": sAV(gsiAllIssuers)},
	}
	if p.Cursor != "" {
		start, err := decodeCursor(p.Cursor, issuersCursor())
		if err != nil {
			return nil, "", fmt.Errorf("list issuers: %w", err)
		}
		in.ExclusiveStartKey = start
	}
	items, next, err := s.queryPage(ctx, in, p.Size(), []string{attrPK, attrSK, attrGSI1PK, attrGSI1SK})
	if err != nil {
		return nil, "", fmt.Errorf("list issuers: %w", err)
	}
	out := make([]domain.Issuer, 0, len(items))
	for _, m := range items {
		iss, err := issuerFrom(m)
		if err != nil {
			return nil, "", fmt.Errorf("list issuers: %w", err)
		}
		out = append(out, iss)
	}
	return out, next, nil
}

// --- achievements

func achievementItem(a domain.Achievement) (item, error) {
	var aligns []types.AttributeValue
	for _, al := range a.Alignments {
		sub := newItem().s("targetName", al.TargetName).s("targetUrl", al.TargetURL).
			s("targetDescription", al.TargetDescription).s("targetFramework", al.TargetFramework).
			s("targetCode", al.TargetCode).s("targetType", al.TargetType)
		if sub.err != nil {
			return nil, fmt.Errorf("alignment: %w", sub.err)
		}
		aligns = append(aligns, &types.AttributeValueMemberM{Value: sub.m})
	}
	var skills []types.AttributeValue
	for _, sk := range a.Skills {
		if !utf8.ValidString(sk) {
			return nil, fmt.Errorf("skill %q is not valid UTF-8", sk)
		}
		skills = append(skills, sAV(sk))
	}
	return newItem(attrPK, issuerPK(a.IssuerID), attrSK, achSK(a.ID), "type", "achievement").
		s("id", a.ID).s("issuerId", a.IssuerID).s("name", a.Name).s("description", a.Description).
		s("criteriaId", a.Criteria.ID).s("criteriaNarrative", a.Criteria.Narrative).s("image", a.Image).
		s("achievementType", a.AchievementType).list("alignments", aligns).list("skills", skills).
		n("validForDays", int64(a.ValidForDays)).s("mailSubject", a.Mail.Subject).s("mailBody", a.Mail.Body).
		t("createdAt", a.CreatedAt).t("updatedAt", a.UpdatedAt).done()
}

func achievementFrom(m item) (domain.Achievement, error) {
	d := &dec{m: m}
	a := domain.Achievement{
		ID: d.s("id"), IssuerID: d.s("issuerId"), Name: d.s("name"), Description: d.s("description"),
		Criteria: domain.Criteria{ID: d.s("criteriaId"), Narrative: d.s("criteriaNarrative")}, Image: d.s("image"),
		AchievementType: d.s("achievementType"), ValidForDays: int(d.n("validForDays")),
		Mail:      domain.MailText{Subject: d.s("mailSubject"), Body: d.s("mailBody")},
		CreatedAt: d.t("createdAt"), UpdatedAt: d.t("updatedAt"),
	}
	for _, v := range d.list("alignments") {
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			d.fail("alignments", "L of M", v)
			break
		}
		sub := &dec{m: m.Value}
		a.Alignments = append(a.Alignments, domain.Alignment{
			TargetName: sub.s("targetName"), TargetURL: sub.s("targetUrl"), TargetDescription: sub.s("targetDescription"),
			TargetFramework: sub.s("targetFramework"), TargetCode: sub.s("targetCode"), TargetType: sub.s("targetType"),
		})
		d.join(sub)
	}
	for _, v := range d.list("skills") {
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			d.fail("skills", "L of S", v)
			break
		}
		a.Skills = append(a.Skills, sv.Value)
	}
	if d.err != nil {
		return domain.Achievement{}, fmt.Errorf("decode achievement: %w", d.err)
	}
	return a, nil
}

// CreateAchievement implements domain.Store.
func (s *Store) CreateAchievement(ctx context.Context, a domain.Achievement) error {
	if err := domain.CheckKeys("issuer id", a.IssuerID, "achievement id", a.ID); err != nil {
		return fmt.Errorf("create achievement: %w", err)
	}
	it, err := achievementItem(a)
	if err != nil {
		return fmt.Errorf("create achievement %s/%s: %w", a.IssuerID, a.ID, err)
	}
	return s.putIf(ctx, "create achievement "+a.IssuerID+"/"+a.ID, it, "attribute_not_exists(pk)", nil, nil, domain.ErrConflict)
}

// GetAchievement implements domain.Store.
func (s *Store) GetAchievement(ctx context.Context, issuerID, id string) (domain.Achievement, error) {
	m, err := s.getItem(ctx, issuerPK(issuerID), achSK(id))
	if err != nil {
		return domain.Achievement{}, fmt.Errorf("get achievement %s/%s: %w", issuerID, id, err)
	}
	return achievementFrom(m)
}

// UpdateAchievement implements domain.Store.
func (s *Store) UpdateAchievement(ctx context.Context, a domain.Achievement) error {
	if err := domain.CheckKeys("issuer id", a.IssuerID, "achievement id", a.ID); err != nil {
		return fmt.Errorf("update achievement: %w", err)
	}
	it, err := achievementItem(a)
	if err != nil {
		return fmt.Errorf("update achievement %s/%s: %w", a.IssuerID, a.ID, err)
	}
	return s.putIf(ctx, "update achievement "+a.IssuerID+"/"+a.ID, it, "attribute_exists(pk)", nil, nil, domain.ErrNotFound)
}

// ListAchievements implements domain.Store: by id, ascending.
func (s *Store) ListAchievements(ctx context.Context, issuerID string, p domain.Page) ([]domain.Achievement, string, error) {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :s)"),
		ExpressionAttributeValues: item{":p": sAV(issuerPK(issuerID)), ":s": sAV(prefixAch)},
		ConsistentRead:            aws.Bool(true),
	}
	if p.Cursor != "" {
		start, err := decodeCursor(p.Cursor, achievementsCursor(issuerID))
		if err != nil {
			return nil, "", fmt.Errorf("list achievements of %s: %w", issuerID, err)
		}
		in.ExclusiveStartKey = start
	}
	items, next, err := s.queryPage(ctx, in, p.Size(), []string{attrPK, attrSK})
	if err != nil {
		return nil, "", fmt.Errorf("list achievements of %s: %w", issuerID, err)
	}
	out := make([]domain.Achievement, 0, len(items))
	for _, m := range items {
		a, err := achievementFrom(m)
		if err != nil {
			return nil, "", fmt.Errorf("list achievements of %s: %w", issuerID, err)
		}
		out = append(out, a)
	}
	return out, next, nil
}
