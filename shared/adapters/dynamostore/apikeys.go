package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

// An API key is stored twice, under its id and under its hash, both complete: authentication
// (by hash, on every API call) is then one strongly consistent GetItem, and a revocation shows
// at once, which a lookup through an index could not promise. Both copies are written and
// revoked in one transaction; the by-hash copy's condition makes hashes unique.

func apiKeyItems(k domain.APIKey) (byID, byHash item, err error) {
	ts, err := fmtTime(k.CreatedAt)
	if err != nil {
		return nil, nil, fmt.Errorf("createdAt: %w", err)
	}
	fields := func(e *enc) *enc {
		return e.s("id", k.ID).s("name", k.Name).s("issuerId", k.IssuerID).s("hash", k.Hash).
			s("prefix", k.Prefix).t("createdAt", k.CreatedAt).t("revokedAt", k.RevokedAt)
	}
	byID, err = fields(newItem(attrPK, apiKeyPK(k.ID), attrSK, skMeta,
		attrGSI1PK, apiKeysGSI(k.IssuerID), attrGSI1SK, ts+"#"+esc(k.ID), "type", "apiKey")).done()
	if err != nil {
		return nil, nil, err
	}
	byHash, err = fields(newItem(attrPK, apiKeyHashPK(k.Hash), attrSK, skMeta, "type", "apiKeyByHash")).done()
	return byID, byHash, err
}

func apiKeyFrom(m item) (domain.APIKey, error) {
	d := &dec{m: m}
	k := domain.APIKey{
		ID: d.s("id"), Name: d.s("name"), IssuerID: d.s("issuerId"), Hash: d.s("hash"),
		Prefix: d.s("prefix"), CreatedAt: d.t("createdAt"), RevokedAt: d.t("revokedAt"),
	}
	if d.err != nil {
		return domain.APIKey{}, fmt.Errorf("decode api key: %w", d.err)
	}
	return k, nil
}

// CreateAPIKey implements domain.Store; a key whose hash is taken is refused too.
func (s *Store) CreateAPIKey(ctx context.Context, k domain.APIKey) error {
	if err := domain.CheckKeys("api key id", k.ID, "api key hash", k.Hash); err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	what := "create api key " + k.ID
	byID, byHash, err := apiKeyItems(k)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = s.transact(ctx, what, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: byID, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Put: &types.Put{TableName: &s.table, Item: byHash, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		}
	})
	if failed, ok := txConditionFailed(err); ok {
		if failed[0] {
			return fmt.Errorf("%s: %w", what, domain.ErrConflict)
		}
		return fmt.Errorf("%s: another key has the same hash: %w", what, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// GetAPIKeyByHash implements domain.Store.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (domain.APIKey, error) {
	m, err := s.getItem(ctx, apiKeyHashPK(hash), skMeta)
	if err != nil {
		return domain.APIKey{}, fmt.Errorf("get api key by hash: %w", err)
	}
	return apiKeyFrom(m)
}

// GetAPIKey implements domain.Store.
func (s *Store) GetAPIKey(ctx context.Context, id string) (domain.APIKey, error) {
	m, err := s.getItem(ctx, apiKeyPK(id), skMeta)
	if err != nil {
		return domain.APIKey{}, fmt.Errorf("get api key %s: %w", id, err)
	}
	return apiKeyFrom(m)
}

// ListAPIKeys implements domain.Store: by CreatedAt, then id.
func (s *Store) ListAPIKeys(ctx context.Context, issuerID string) ([]domain.APIKey, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(indexGSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :p"),
		ExpressionAttributeValues: item{":p": sAV(apiKeysGSI(issuerID))},
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	out := make([]domain.APIKey, 0, len(items))
	for _, m := range items {
		k, err := apiKeyFrom(m)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, nil
}

// RevokeAPIKey implements domain.Store; a revoked key keeps its first revocation time
// (if_not_exists), also when two revocations race.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) (domain.APIKey, error) {
	what := "revoke api key " + id
	atS, err := fmtTime(at)
	if err != nil {
		return domain.APIKey{}, fmt.Errorf("%s: %w", what, err)
	}
	k, err := s.GetAPIKey(ctx, id)
	if err != nil {
		return domain.APIKey{}, fmt.Errorf("%s: %w", what, err)
	}
	if !k.RevokedAt.IsZero() {
		return k, nil
	}
	revoke := func(pk string) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName:                 &s.table,
			Key:                       item{attrPK: sAV(pk), attrSK: sAV(skMeta)},
			UpdateExpression:          aws.String("SET #r = if_not_exists(#r, :at)"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeNames:  map[string]string{"#r": "revokedAt"},
			ExpressionAttributeValues: item{":at": sAV(atS)},
		}}
	}
	err = s.transact(ctx, what, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{revoke(apiKeyPK(id)), revoke(apiKeyHashPK(k.Hash))}
	})
	if _, failed := txConditionFailed(err); failed {
		return domain.APIKey{}, fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	if err != nil {
		return domain.APIKey{}, fmt.Errorf("%s: %w", what, err)
	}
	// Read back rather than assume: a concurrent revocation may have set an earlier time.
	k, err = s.GetAPIKey(ctx, id)
	if err != nil {
		return domain.APIKey{}, fmt.Errorf("%s: %w", what, err)
	}
	return k, nil
}
