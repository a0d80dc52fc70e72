package dynamostore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/adapters/storetest"
	"github.com/credence-oss/credence/shared/domain"
)

// testClient connects to the DynamoDB emulator (DynamoDB Local, started by `make test`); the
// test skips without one, or fails when CREDENCE_REQUIRE_EMULATORS=1.
func testClient(t *testing.T) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(awstest.Config(t, awstest.Endpoint(t, "DYNAMODB")))
}

// newTestStore creates a fresh table for one test and drops it afterwards, so tests (and test
// packages running in parallel against the same emulator) never see each other's items.
func newTestStore(t *testing.T, client *dynamodb.Client) *Store {
	t.Helper()
	table := awstest.UniqueName("credence-store")
	if err := CreateTable(t.Context(), client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled in Cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
			t.Logf("delete table %s: %v", table, err)
		}
	})
	return New(client, table)
}

func TestContract(t *testing.T) {
	client := testClient(t)
	storetest.Run(t, func(t *testing.T) domain.Store { return newTestStore(t, client) })
}

// TestItemTooLarge checks that a credential beyond DynamoDB's item limit is refused with
// ErrItemTooLarge before it reaches DynamoDB, and that one just under it is stored.
func TestItemTooLarge(t *testing.T) {
	s := newTestStore(t, testClient(t))
	ctx := t.Context()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := domain.Credential{ID: "big", IssuerID: "i", AchievementID: "a", IssuedAt: at, Status: domain.StatusActive}
	c.LDP = []byte(strings.Repeat("x", 250*1024))
	c.JWT = strings.Repeat("y", 150*1024) // together over 400 KB
	err := s.CreateCredential(ctx, c)
	if !errors.Is(err, ErrItemTooLarge) {
		t.Fatalf("create of a %d KB credential: %v, want ErrItemTooLarge", (len(c.LDP)+len(c.JWT))/1024, err)
	}
	if _, err := s.GetCredential(ctx, "big"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a refused credential was stored (get: %v)", err)
	}
	c.JWT = strings.Repeat("y", 140*1024) // 390 KB in all: fits
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatalf("create of a 390 KB credential: %v", err)
	}
	got, err := s.GetCredential(ctx, "big")
	if err != nil || string(got.LDP) != string(c.LDP) || got.JWT != c.JWT {
		t.Fatalf("390 KB credential did not round-trip: %v", err)
	}
	l := domain.StatusList{IssuerID: "i", ListID: "1-revocation", Version: 1, Credential: make([]byte, 401*1024)}
	if err := s.PutStatusList(ctx, l); !errors.Is(err, ErrItemTooLarge) {
		t.Fatalf("put of a 401 KB status list: %v, want ErrItemTooLarge", err)
	}
}
