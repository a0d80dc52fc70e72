package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

// ClaimStatusIndex implements domain.Store: the claim item (conditioned on not existing) and
// the list's counter (ADD 1) in one transaction, so the count never drifts from the claims.
// Claims of one list contend on its counter; contention is retried with backoff.
func (s *Store) ClaimStatusIndex(ctx context.Context, issuerID, listID string, index int) error {
	if err := domain.CheckKeys("issuer id", issuerID, "list id", listID); err != nil {
		return fmt.Errorf("claim status index: %w", err)
	}
	if index < 0 {
		return fmt.Errorf("claim status index %d: an index is never negative", index)
	}
	what := fmt.Sprintf("claim status index %s/%s/%d", issuerID, listID, index)
	pk := claimPK(issuerID, listID)
	err := s.transact(ctx, what, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Put: &types.Put{
				TableName:           &s.table,
				Item:                item{attrPK: sAV(pk), attrSK: sAV(claimSK(index)), "type": sAV("statusIndex"), "index": nAV(int64(index))},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}},
			{Update: &types.Update{
				TableName:                 &s.table,
				Key:                       item{attrPK: sAV(pk), attrSK: sAV(skCount)},
				UpdateExpression:          aws.String("ADD #n :one SET #t = :t"),
				ExpressionAttributeNames:  map[string]string{"#n": "n", "#t": "type"},
				ExpressionAttributeValues: item{":one": nAV(1), ":t": sAV("statusIndexCount")},
			}},
		}
	})
	if _, failed := txConditionFailed(err); failed {
		return fmt.Errorf("%s: %w", what, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// CountStatusIndexes implements domain.Store.
func (s *Store) CountStatusIndexes(ctx context.Context, issuerID, listID string) (int, error) {
	m, err := s.getItem(ctx, claimPK(issuerID, listID), skCount)
	if errors.Is(err, domain.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count status indexes of %s/%s: %w", issuerID, listID, err)
	}
	d := &dec{m: m}
	n := d.n("n")
	if d.err != nil {
		return 0, fmt.Errorf("count status indexes of %s/%s: %w", issuerID, listID, d.err)
	}
	return int(n), nil
}

func statusListItem(l domain.StatusList) (item, error) {
	return newItem(attrPK, issuerPK(l.IssuerID), attrSK, statusListSK(l.ListID), "type", "statusList").
		s("issuerId", l.IssuerID).s("listId", l.ListID).s("purpose", l.Purpose).s("encoded", l.Encoded).
		b("credential", l.Credential).n("version", l.Version).t("updatedAt", l.UpdatedAt).done()
}

// GetStatusList implements domain.Store.
func (s *Store) GetStatusList(ctx context.Context, issuerID, listID string) (domain.StatusList, error) {
	m, err := s.getItem(ctx, issuerPK(issuerID), statusListSK(listID))
	if err != nil {
		return domain.StatusList{}, fmt.Errorf("get status list %s/%s: %w", issuerID, listID, err)
	}
	d := &dec{m: m}
	l := domain.StatusList{
		IssuerID: d.s("issuerId"), ListID: d.s("listId"), Purpose: d.s("purpose"), Encoded: d.s("encoded"),
		Credential: d.b("credential"), Version: d.n("version"), UpdatedAt: d.t("updatedAt"),
	}
	if d.err != nil {
		return domain.StatusList{}, fmt.Errorf("get status list %s/%s: decode: %w", issuerID, listID, d.err)
	}
	return l, nil
}

// PutStatusList implements domain.Store: version 1 only if none exists, version v only over v-1.
func (s *Store) PutStatusList(ctx context.Context, l domain.StatusList) error {
	if err := domain.CheckKeys("issuer id", l.IssuerID, "list id", l.ListID); err != nil {
		return fmt.Errorf("put status list: %w", err)
	}
	what := fmt.Sprintf("put status list %s/%s version %d", l.IssuerID, l.ListID, l.Version)
	if l.Version < 1 {
		return fmt.Errorf("%s: versions start at 1", what)
	}
	it, err := statusListItem(l)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if l.Version == 1 {
		return s.putIf(ctx, what, it, "attribute_not_exists(pk)", nil, nil, domain.ErrConflict)
	}
	return s.putIf(ctx, what, it, "#v = :prev", map[string]string{"#v": "version"},
		item{":prev": &types.AttributeValueMemberN{Value: strconv.FormatInt(l.Version-1, 10)}}, domain.ErrConflict)
}
