package dynamostore

import (
	"testing"

	"github.com/credence-oss/credence/shared/adapters/storetest"
	"github.com/credence-oss/credence/shared/domain"
)

// TestJobsContract runs the JobStore contract against DynamoDB Local, on a fresh table per
// subtest with the schema of the stack's table.
func TestJobsContract(t *testing.T) {
	client := testClient(t)
	storetest.RunJobs(t, func(t *testing.T) domain.JobStore { return newTestStore(t, client) })
}
