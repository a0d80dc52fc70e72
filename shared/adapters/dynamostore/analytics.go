package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

// Analytics is the DynamoDB domain.Analytics, in the Store's table. One item per counted
// slice and day, with one number attribute per event (n_view, n_share, ...):
//
//	item                              pk                      sk                         attributes
//	issuer total of a day             STATS#ISSUER#iss        DAY#day#TOTAL              day, dim, n_<event>...
//	issuer, one country, a day        STATS#ISSUER#iss        DAY#day#COUNTRY#cc         day, dim, dkey, n_<event>...
//	issuer, one achievement, a day    STATS#ISSUER#iss        DAY#day#ACH#ach            day, dim, dkey, n_<event>...
//	credential of a day               STATS#CRED#id           DAY#day                    day, n_<event>...
//
// Every increment is an UpdateItem with ADD, which DynamoDB applies atomically on the item: no
// read, no condition, no lost update under any concurrency. The counters of one Increment that
// fall on different items are separate requests (sent concurrently); a failure part-way leaves
// the ones already applied, which for engagement figures is the right trade against a
// transaction's doubled cost and its conflicts under load. A query of an issuer's days is one
// Query on its partition with sk BETWEEN DAY#from and DAY#to$ ('$' sorts right after '#').
// All of an issuer's counters share one partition, whose write capacity (about 1,000 updates a
// second) bounds the engagement one issuer can record; page views come nowhere near it.
type Analytics struct{ s *Store }

var _ domain.Analytics = (*Analytics)(nil)

// NewAnalytics returns the analytics kept in s's table.
func NewAnalytics(s *Store) *Analytics { return &Analytics{s: s} }

const (
	statsIssuerPrefix = "STATS#ISSUER#"
	statsCredPrefix   = "STATS#CRED#"
	attrDay           = "day"
	attrDim           = "dim"
	attrDimKey        = "dkey"
	eventAttrPrefix   = "n_"
	dimTotalValue     = "total" // DimTotal is "", which reads badly in a table browser
)

func counterItemKey(c domain.Counter) (pk, sk string) {
	if c.CredentialID != "" {
		return statsCredPrefix + esc(c.CredentialID), "DAY#" + c.Day
	}
	switch c.Dim {
	case domain.DimCountry:
		sk = "DAY#" + c.Day + "#COUNTRY#" + esc(c.Key)
	case domain.DimAchievement:
		sk = "DAY#" + c.Day + "#ACH#" + esc(c.Key)
	default:
		sk = "DAY#" + c.Day + "#TOTAL"
	}
	return statsIssuerPrefix + esc(c.IssuerID), sk
}

// update is the UpdateItem of one item: the counts of its events.
type update struct {
	pk, sk string
	first  domain.Counter
	events map[string]int64
}

// Increment adds the counters, one UpdateItem per item.
func (a *Analytics) Increment(ctx context.Context, counters []domain.Counter) error {
	var order []string
	items := map[string]*update{}
	for _, c := range counters {
		if err := c.Check(); err != nil {
			return err
		}
		pk, sk := counterItemKey(c)
		id := pk + "\x00" + sk
		u := items[id]
		if u == nil {
			u = &update{pk: pk, sk: sk, first: c, events: map[string]int64{}}
			items[id] = u
			order = append(order, id)
		}
		u.events[c.Event] += c.N
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, id := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.apply(ctx, items[id])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (a *Analytics) apply(ctx context.Context, u *update) error {
	names := map[string]string{"#day": attrDay}
	values := item{":day": sAV(u.first.Day)}
	set := []string{"#day = :day"}
	if u.first.CredentialID == "" {
		names["#dim"] = attrDim
		dim := u.first.Dim
		if dim == domain.DimTotal {
			dim = dimTotalValue
		}
		values[":dim"] = sAV(dim)
		set = append(set, "#dim = :dim")
		if u.first.Key != "" {
			names["#dkey"] = attrDimKey
			values[":dkey"] = sAV(u.first.Key)
			set = append(set, "#dkey = :dkey")
		}
	}
	events := make([]string, 0, len(u.events))
	for e := range u.events {
		events = append(events, e)
	}
	sort.Strings(events)
	adds := make([]string, 0, len(events))
	for i, e := range events {
		n, v := "#e"+strconv.Itoa(i), ":n"+strconv.Itoa(i)
		names[n] = eventAttrPrefix + e
		values[v] = nAV(u.events[e])
		adds = append(adds, n+" "+v)
	}
	expr := "SET " + strings.Join(set, ", ") + " ADD " + strings.Join(adds, ", ")
	_, err := a.s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(a.s.table),
		Key:                       item{attrPK: sAV(u.pk), attrSK: sAV(u.sk)},
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("dynamostore: count %s %s: %w", u.pk, u.sk, err)
	}
	return nil
}

// Query returns the issuer's counters of the days from..to.
func (a *Analytics) Query(ctx context.Context, issuerID, from, to string) ([]domain.Counter, error) {
	if err := checkStatsRange("issuer id", issuerID, from, to); err != nil {
		return nil, err
	}
	items, err := a.days(ctx, statsIssuerPrefix+esc(issuerID), from, to)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: analytics of issuer %s: %w", issuerID, err)
	}
	var out []domain.Counter
	for _, it := range items {
		d := &dec{m: it}
		base := domain.Counter{IssuerID: issuerID, Day: d.s(attrDay), Dim: d.s(attrDim), Key: d.s(attrDimKey)}
		if base.Dim == dimTotalValue {
			base.Dim = domain.DimTotal
		}
		if d.err != nil {
			return nil, fmt.Errorf("dynamostore: analytics item: %w", d.err)
		}
		out, err = appendEvents(out, base, it)
		if err != nil {
			return nil, err
		}
	}
	sortCounters(out)
	return out, nil
}

// QueryCredential returns the credential's counters of the days from..to.
func (a *Analytics) QueryCredential(ctx context.Context, credentialID, from, to string) ([]domain.Counter, error) {
	if err := checkStatsRange("credential id", credentialID, from, to); err != nil {
		return nil, err
	}
	items, err := a.days(ctx, statsCredPrefix+esc(credentialID), from, to)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: analytics of credential %s: %w", credentialID, err)
	}
	var out []domain.Counter
	for _, it := range items {
		d := &dec{m: it}
		base := domain.Counter{CredentialID: credentialID, Day: d.s(attrDay)}
		if d.err != nil {
			return nil, fmt.Errorf("dynamostore: analytics item: %w", d.err)
		}
		out, err = appendEvents(out, base, it)
		if err != nil {
			return nil, err
		}
	}
	sortCounters(out)
	return out, nil
}

func checkStatsRange(what, id, from, to string) error {
	if err := domain.CheckKeys(what, id); err != nil {
		return fmt.Errorf("dynamostore: %w", err)
	}
	if err := domain.CheckDay(from); err != nil {
		return fmt.Errorf("dynamostore: from: %w", err)
	}
	if err := domain.CheckDay(to); err != nil {
		return fmt.Errorf("dynamostore: to: %w", err)
	}
	return nil
}

// days reads a partition's items of the days from..to (strongly consistent, so a count just
// written is in the answer).
func (a *Analytics) days(ctx context.Context, pk, from, to string) ([]item, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(a.s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: item{":pk": sAV(pk), ":lo": sAV("DAY#" + from), ":hi": sAV("DAY#" + to + "$")},
		ConsistentRead:            aws.Bool(true),
	}
	var items []item
	for {
		out, err := a.s.db.Query(ctx, in)
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

func appendEvents(out []domain.Counter, base domain.Counter, it item) ([]domain.Counter, error) {
	for name, v := range it {
		event, ok := strings.CutPrefix(name, eventAttrPrefix)
		if !ok {
			continue
		}
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			return nil, fmt.Errorf("dynamostore: analytics attribute %s is %T, not a number", name, v)
		}
		count, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: analytics attribute %s: %w", name, err)
		}
		c := base
		c.Event, c.N = event, count
		out = append(out, c)
	}
	return out, nil
}

func sortCounters(cs []domain.Counter) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		switch {
		case a.Day != b.Day:
			return a.Day < b.Day
		case a.Dim != b.Dim:
			return a.Dim < b.Dim
		case a.Key != b.Key:
			return a.Key < b.Key
		}
		return a.Event < b.Event
	})
}
