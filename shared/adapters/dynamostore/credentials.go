package dynamostore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

func mailEnc(m domain.MailState) *enc {
	return newItem().s("state", m.State).s("messageId", m.MessageID).t("at", m.At).s("detail", m.Detail)
}

// credentialItems maps a credential to its record, its LDP/JWT item and (with an e-mail key)
// its e-mail entry.
func credentialItems(c domain.Credential) (meta, doc, email item, err error) {
	ts, err := fmtTime(c.IssuedAt)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issuedAt: %w", err)
	}
	pk, sortKey := credPK(c.ID), credSortKey(ts, c.ID)
	meta, err = newItem(attrPK, pk, attrSK, skMeta,
		attrGSI1PK, credAllGSI(c.IssuerID), attrGSI1SK, sortKey,
		attrGSI2PK, credAchGSI(c.IssuerID, c.AchievementID), attrGSI2SK, sortKey, "type", "credential").
		s("id", c.ID).s("issuerId", c.IssuerID).s("achievementId", c.AchievementID).
		s("recipientName", c.RecipientName).s("recipientEmail", c.RecipientEmail).s("emailKey", c.EmailKey).
		t("validFrom", c.ValidFrom).t("validUntil", c.ValidUntil).t("issuedAt", c.IssuedAt).
		s("status", string(c.Status)).s("statusReason", c.StatusReason).t("statusChangedAt", c.StatusChangedAt).
		s("statusListId", c.StatusListID).n("statusIndex", int64(c.StatusIndex)).
		s("jobId", c.JobID).n("row", int64(c.Row)).mapv("mail", mailEnc(c.Mail)).done()
	if err != nil {
		return nil, nil, nil, err
	}
	if !utf8.ValidString(c.JWT) {
		return nil, nil, nil, fmt.Errorf("the JWT is not valid UTF-8")
	}
	doc, err = newItem(attrPK, pk, attrSK, skDoc, "type", "credentialDoc").b("ldp", c.LDP).s("jwt", c.JWT).done()
	if err != nil {
		return nil, nil, nil, err
	}
	if c.EmailKey != "" {
		email, err = newItem(attrPK, pk, attrSK, skEmail,
			attrGSI2PK, credEmailGSI(c.IssuerID, c.EmailKey), attrGSI2SK, sortKey, "type", "credentialEmail").
			s("id", c.ID).s("achievementId", c.AchievementID).done()
	}
	return meta, doc, email, err
}

func credentialFrom(m item) (domain.Credential, error) {
	d := &dec{m: m}
	md := d.sub("mail")
	c := domain.Credential{
		ID: d.s("id"), IssuerID: d.s("issuerId"), AchievementID: d.s("achievementId"),
		RecipientName: d.s("recipientName"), RecipientEmail: d.s("recipientEmail"), EmailKey: d.s("emailKey"),
		ValidFrom: d.t("validFrom"), ValidUntil: d.t("validUntil"), IssuedAt: d.t("issuedAt"),
		Status: domain.Status(d.s("status")), StatusReason: d.s("statusReason"), StatusChangedAt: d.t("statusChangedAt"),
		StatusListID: d.s("statusListId"), StatusIndex: int(d.n("statusIndex")),
		JobID: d.s("jobId"), Row: int(d.n("row")),
		Mail: domain.MailState{State: md.s("state"), MessageID: md.s("messageId"), At: md.t("at"), Detail: md.s("detail")},
	}
	d.join(md)
	if d.err != nil {
		return domain.Credential{}, fmt.Errorf("decode credential: %w", d.err)
	}
	return c, nil
}

// CreateCredential implements domain.Store: record, LDP/JWT and e-mail entry in one
// transaction, each conditioned on not existing.
func (s *Store) CreateCredential(ctx context.Context, c domain.Credential) error {
	return s.CreateCredentialAudited(ctx, c, nil)
}

// CreateCredentialAudited implements domain.AuditedCreator: the issue event is one more put in
// the credential's transaction, so the two are stored together or not at all.
func (s *Store) CreateCredentialAudited(ctx context.Context, c domain.Credential, issued *domain.AuditEvent) error {
	if err := domain.CheckKeys("credential id", c.ID, "issuer id", c.IssuerID); err != nil {
		return fmt.Errorf("create credential: %w", err)
	}
	meta, doc, email, err := credentialItems(c)
	if err != nil {
		return fmt.Errorf("create credential %s: %w", c.ID, err)
	}
	var audit item
	if issued != nil {
		if audit, err = auditItem(*issued); err != nil {
			return fmt.Errorf("create credential %s: %w", c.ID, err)
		}
	}
	what := "create credential " + c.ID
	for _, it := range []item{meta, doc, email} {
		if err := checkSize(what, it); err != nil {
			return err
		}
	}
	err = s.transact(ctx, what, func() []types.TransactWriteItem {
		tx := []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: meta, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Put: &types.Put{TableName: &s.table, Item: doc, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		}
		if email != nil {
			tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: email, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
		}
		if audit != nil {
			tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: audit, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
		}
		return tx
	})
	if _, failed := txConditionFailed(err); failed {
		return fmt.Errorf("%s: %w", what, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

var _ domain.AuditedCreator = (*Store)(nil)

// GetCredential implements domain.Store: one consistent Query for the record and its LDP/JWT.
func (s *Store) GetCredential(ctx context.Context, id string) (domain.Credential, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p AND sk BETWEEN :a AND :b"),
		ExpressionAttributeValues: item{":p": sAV(credPK(id)), ":a": sAV(skDoc), ":b": sAV(skMeta)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return domain.Credential{}, fmt.Errorf("get credential %s: %w", id, err)
	}
	var meta, doc item
	for _, it := range items {
		switch (&dec{m: it}).s(attrSK) {
		case skMeta:
			meta = it
		case skDoc:
			doc = it
		}
	}
	if meta == nil {
		return domain.Credential{}, fmt.Errorf("get credential %s: %w", id, domain.ErrNotFound)
	}
	if doc == nil {
		return domain.Credential{}, fmt.Errorf("get credential %s: the LDP/JWT item is missing", id)
	}
	c, err := credentialFrom(meta)
	if err != nil {
		return domain.Credential{}, fmt.Errorf("get credential %s: %w", id, err)
	}
	d := &dec{m: doc}
	c.LDP, c.JWT = d.b("ldp"), d.s("jwt")
	if d.err != nil {
		return domain.Credential{}, fmt.Errorf("get credential %s: %w", id, d.err)
	}
	return c, nil
}

// ListCredentials implements domain.Store: newest first by IssuedAt, then id, without LDP and
// JWT. An e-mail key selects the e-mail entries (a recipient has few credentials, so an
// achievement filter on top is a filter expression) and the records are then fetched in one
// BatchGetItem; an achievement alone selects the records on gsi2; no filter, gsi1.
func (s *Store) ListCredentials(ctx context.Context, issuerID string, f domain.CredentialFilter, p domain.Page) ([]domain.Credential, string, error) {
	var (
		in    = &dynamodb.QueryInput{ScanIndexForward: aws.Bool(false)}
		shape cursorShape
		attrs []string
	)
	switch {
	case f.EmailKey != "":
		part := credEmailGSI(issuerID, f.EmailKey)
		in.IndexName = aws.String(indexGSI2)
		in.KeyConditionExpression = aws.String("gsi2pk = :p")
		in.ExpressionAttributeValues = item{":p": sAV(part)}
		if f.AchievementID != "" {
			in.FilterExpression = aws.String("#ach = :a")
			in.ExpressionAttributeNames = map[string]string{"#ach": "achievementId"}
			in.ExpressionAttributeValues[":a"] = sAV(f.AchievementID)
		}
		shape, attrs = credCursor(attrGSI2PK, attrGSI2SK, part, skEmail), []string{attrPK, attrSK, attrGSI2PK, attrGSI2SK}
	case f.AchievementID != "":
		part := credAchGSI(issuerID, f.AchievementID)
		in.IndexName = aws.String(indexGSI2)
		in.KeyConditionExpression = aws.String("gsi2pk = :p")
		in.ExpressionAttributeValues = item{":p": sAV(part)}
		shape, attrs = credCursor(attrGSI2PK, attrGSI2SK, part, skMeta), []string{attrPK, attrSK, attrGSI2PK, attrGSI2SK}
	default:
		part := credAllGSI(issuerID)
		in.IndexName = aws.String(indexGSI1)
		in.KeyConditionExpression = aws.String("gsi1pk = :p")
		in.ExpressionAttributeValues = item{":p": sAV(part)}
		shape, attrs = credCursor(attrGSI1PK, attrGSI1SK, part, skMeta), []string{attrPK, attrSK, attrGSI1PK, attrGSI1SK}
	}
	if p.Cursor != "" {
		start, err := decodeCursor(p.Cursor, shape)
		if err != nil {
			return nil, "", fmt.Errorf("list credentials of %s: %w", issuerID, err)
		}
		in.ExclusiveStartKey = start
	}
	items, next, err := s.queryPage(ctx, in, p.Size(), attrs)
	if err != nil {
		return nil, "", fmt.Errorf("list credentials of %s: %w", issuerID, err)
	}
	if f.EmailKey != "" {
		if items, err = s.records(ctx, items); err != nil {
			return nil, "", fmt.Errorf("list credentials of %s: %w", issuerID, err)
		}
	}
	out := make([]domain.Credential, 0, len(items))
	for _, m := range items {
		c, err := credentialFrom(m)
		if err != nil {
			return nil, "", fmt.Errorf("list credentials of %s: %w", issuerID, err)
		}
		out = append(out, c)
	}
	return out, next, nil
}

// records fetches the credential records that e-mail entries point to, in their order.
func (s *Store) records(ctx context.Context, entries []item) ([]item, error) {
	byPK := make(map[string]item, len(entries))
	var pks []string
	for _, e := range entries {
		pk := (&dec{m: e}).s(attrPK)
		pks = append(pks, pk)
		byPK[pk] = nil
	}
	const batch = 100 // BatchGetItem's limit
	for i := 0; i < len(pks); i += batch {
		var keys []item
		for _, pk := range pks[i:min(i+batch, len(pks))] {
			keys = append(keys, item{attrPK: sAV(pk), attrSK: sAV(skMeta)})
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		delay := 10 * time.Millisecond
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt == 10 {
				return nil, fmt.Errorf("batch get: %d records still unprocessed after %d attempts", len(req[s.table].Keys), attempt)
			}
			if attempt > 0 {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(delay/2 + rand.N(delay)):
				}
				delay = min(delay*2, time.Second)
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("batch get: %w", err)
			}
			for _, it := range out.Responses[s.table] {
				byPK[(&dec{m: it}).s(attrPK)] = it
			}
			req = out.UnprocessedKeys
		}
	}
	out := make([]item, 0, len(pks))
	for _, pk := range pks {
		it := byPK[pk]
		if it == nil {
			return nil, fmt.Errorf("e-mail entry %s has no credential record", pk)
		}
		out = append(out, it)
	}
	return out, nil
}

// UpdateCredentialStatus implements domain.Store. It reads the credential first (for
// ErrNotFound, the early ErrConflict and the returned record), then writes the change
// conditioned on the status still being `from`, together with the audit event.
func (s *Store) UpdateCredentialStatus(ctx context.Context, id string, from, to domain.Status, reason string, at time.Time, audit domain.AuditEvent) (domain.Credential, error) {
	what := "update credential " + id + " status"
	if audit.CredentialID != "" && audit.CredentialID != id {
		return domain.Credential{}, fmt.Errorf("%s: the audit event is about credential %s", what, audit.CredentialID)
	}
	atS, err := fmtTime(at)
	if err != nil {
		return domain.Credential{}, fmt.Errorf("%s: %w", what, err)
	}
	var out domain.Credential
	err = retry(ctx, what, func() error {
		c, err := s.GetCredential(ctx, id)
		if err != nil {
			return err
		}
		if c.Status != from {
			return fmt.Errorf("credential is %s, not %s: %w", c.Status, from, domain.ErrConflict)
		}
		ev := audit
		ev.CredentialID = id
		if ev.IssuerID == "" {
			ev.IssuerID = c.IssuerID
		}
		if ev.At.IsZero() {
			ev.At = at
		}
		auditIt, err := auditItem(ev)
		if err != nil {
			return err
		}
		update := "SET #st = :to, #sca = :at"
		values := item{":to": sAV(string(to)), ":from": sAV(string(from)), ":at": sAV(atS)}
		if reason != "" {
			if !utf8.ValidString(reason) {
				return fmt.Errorf("the reason is not valid UTF-8")
			}
			update += ", #sr = :r"
			values[":r"] = sAV(reason)
		} else {
			update += " REMOVE #sr"
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                 &s.table,
				Key:                       item{attrPK: sAV(credPK(id)), attrSK: sAV(skMeta)},
				UpdateExpression:          &update,
				ConditionExpression:       aws.String("attribute_exists(pk) AND #st = :from"),
				ExpressionAttributeNames:  map[string]string{"#st": "status", "#sca": "statusChangedAt", "#sr": "statusReason"},
				ExpressionAttributeValues: values,
			}},
			{Put: &types.Put{TableName: &s.table, Item: auditIt, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		}})
		if failed, ok := txConditionFailed(err); ok {
			if failed[0] {
				return fmt.Errorf("status changed concurrently: %w", domain.ErrConflict)
			}
			return fmt.Errorf("audit event key taken: %w", err)
		}
		if err != nil {
			return err
		}
		c.Status, c.StatusReason, c.StatusChangedAt = to, reason, at.UTC()
		out = c
		return nil
	})
	if err != nil {
		return domain.Credential{}, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// UpdateCredentialMail implements domain.Store (last write wins; never creates a record).
func (s *Store) UpdateCredentialMail(ctx context.Context, id string, m domain.MailState) error {
	what := "update credential " + id + " mail state"
	mail, err := mailEnc(m).done()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 item{attrPK: sAV(credPK(id)), attrSK: sAV(skMeta)},
		ConditionExpression: aws.String("attribute_exists(pk)"),
		// Every attribute name goes through a placeholder: DynamoDB reserves hundreds of words.
		ExpressionAttributeNames: map[string]string{"#m": "mail"},
	}
	if len(mail) == 0 {
		in.UpdateExpression = aws.String("REMOVE #m")
	} else {
		in.UpdateExpression = aws.String("SET #m = :m")
		in.ExpressionAttributeValues = item{":m": &types.AttributeValueMemberM{Value: mail}}
	}
	err = retry(ctx, what, func() error {
		_, err := s.db.UpdateItem(ctx, in)
		return err
	})
	switch {
	case err == nil:
		return nil
	case isConditionFailed(err):
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}
