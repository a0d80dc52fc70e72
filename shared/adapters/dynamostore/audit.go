package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

// auditItem keeps an event about a credential in the credential's partition and an event about
// an issuer only in the issuer's; the sort key orders by time, then by write.
func auditItem(e domain.AuditEvent) (item, error) {
	pk := credPK(e.CredentialID)
	if e.CredentialID == "" {
		if e.IssuerID == "" {
			return nil, errors.New("the audit event names neither a credential nor an issuer")
		}
		pk = issuerPK(e.IssuerID)
	}
	ts, err := fmtTime(e.At)
	if err != nil {
		return nil, fmt.Errorf("audit event time: %w", err)
	}
	return newItem(attrPK, pk, attrSK, prefixAudit+ts+"#"+tiebreak(), "type", "audit").
		s("issuerId", e.IssuerID).s("credentialId", e.CredentialID).s("action", e.Action).s("actor", e.Actor).
		s("reason", e.Reason).t("at", e.At).s("requestId", e.RequestID).done()
}

// AppendAudit implements domain.Store.
func (s *Store) AppendAudit(ctx context.Context, e domain.AuditEvent) error {
	it, err := auditItem(e)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return s.putIf(ctx, "append audit", it, "attribute_not_exists(pk)", nil, nil, domain.ErrConflict)
}

// ListAudit implements domain.Store: oldest first.
func (s *Store) ListAudit(ctx context.Context, credentialID string) ([]domain.AuditEvent, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :s)"),
		ExpressionAttributeValues: item{":p": sAV(credPK(credentialID)), ":s": sAV(prefixAudit)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("list audit of %s: %w", credentialID, err)
	}
	out := make([]domain.AuditEvent, 0, len(items))
	for _, m := range items {
		d := &dec{m: m}
		e := domain.AuditEvent{
			IssuerID: d.s("issuerId"), CredentialID: d.s("credentialId"), Action: d.s("action"), Actor: d.s("actor"),
			Reason: d.s("reason"), At: d.t("at"), RequestID: d.s("requestId"),
		}
		if d.err != nil {
			return nil, fmt.Errorf("list audit of %s: decode: %w", credentialID, d.err)
		}
		out = append(out, e)
	}
	return out, nil
}

// --- idempotency

func idemFrom(m item) (domain.Idempotency, error) {
	d := &dec{m: m}
	r := domain.Idempotency{
		Scope: d.s("scope"), Key: d.s("key"), RequestHash: d.s("requestHash"), ResultID: d.s("resultId"),
		CreatedAt: d.t("createdAt"), ExpiresAt: d.t("expiresAt"),
	}
	if d.err != nil {
		return domain.Idempotency{}, fmt.Errorf("decode idempotency record: %w", d.err)
	}
	return r, nil
}

// PutIdempotency implements domain.Store. The record carries ttl (epoch seconds) so DynamoDB
// deletes it some time after ExpiresAt; until it does, the condition treats an expired record
// as absent (expiresAt is fixed-width UTC, so string order is time order).
func (s *Store) PutIdempotency(ctx context.Context, rec domain.Idempotency) (domain.Idempotency, error) {
	if err := domain.CheckKeys("idempotency key", rec.Key); err != nil {
		return domain.Idempotency{}, fmt.Errorf("put idempotency record: %w", err)
	}
	what := fmt.Sprintf("put idempotency record %q", rec.Key)
	e := newItem(attrPK, idemPK(rec.Scope, rec.Key), attrSK, skMeta, "type", "idempotency").
		s("scope", rec.Scope).s("key", rec.Key).s("requestHash", rec.RequestHash).s("resultId", rec.ResultID).
		t("createdAt", rec.CreatedAt).t("expiresAt", rec.ExpiresAt)
	if !rec.ExpiresAt.IsZero() {
		// DynamoDB's TTL sweeper reads whole seconds; round up so it never deletes early.
		e.n(attrTTL, rec.ExpiresAt.Add(time.Second-1).Unix())
	}
	it, err := e.done()
	if err != nil {
		return domain.Idempotency{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkSize(what, it); err != nil {
		return domain.Idempotency{}, err
	}
	now, err := fmtTime(s.now())
	if err != nil {
		return domain.Idempotency{}, fmt.Errorf("%s: %w", what, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                it,
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR #exp <= :now"),
		ExpressionAttributeNames:            map[string]string{"#exp": "expiresAt"},
		ExpressionAttributeValues:           item{":now": sAV(now)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return idemFrom(it)
	case errors.As(err, &ccf):
		old := ccf.Item
		if len(old) == 0 { // older emulators do not return the item
			if old, err = s.getItem(ctx, idemPK(rec.Scope, rec.Key), skMeta); err != nil {
				return domain.Idempotency{}, fmt.Errorf("%s: read the stored record: %w", what, err)
			}
		}
		stored, err := idemFrom(old)
		if err != nil {
			return domain.Idempotency{}, fmt.Errorf("%s: %w", what, err)
		}
		return stored, fmt.Errorf("%s: %w", what, domain.ErrConflict)
	default:
		return domain.Idempotency{}, fmt.Errorf("%s: %w", what, err)
	}
}

// GetIdempotency implements domain.Store.
func (s *Store) GetIdempotency(ctx context.Context, scope, key string) (domain.Idempotency, error) {
	m, err := s.getItem(ctx, idemPK(scope, key), skMeta)
	if err != nil {
		return domain.Idempotency{}, fmt.Errorf("get idempotency record %q: %w", key, err)
	}
	r, err := idemFrom(m)
	if err != nil {
		return domain.Idempotency{}, err
	}
	if !r.ExpiresAt.IsZero() && !s.now().Before(r.ExpiresAt) {
		return domain.Idempotency{}, fmt.Errorf("idempotency record %q expired at %v: %w", key, r.ExpiresAt, domain.ErrNotFound)
	}
	return r, nil
}
