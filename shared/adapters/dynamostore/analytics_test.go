package dynamostore_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/adapters/dynamostore"
	"github.com/credence-oss/credence/shared/adapters/storetest"
	"github.com/credence-oss/credence/shared/domain"
)

// TestAnalyticsContract runs the analytics contract against DynamoDB Local, each subtest on a
// fresh table with the key schema of the stack's table (pk, sk; the indexes play no part in
// analytics).
func TestAnalyticsContract(t *testing.T) {
	endpoint := awstest.Endpoint(t, "DYNAMODB")
	client := dynamodb.NewFromConfig(awstest.Config(t, endpoint))
	storetest.RunAnalytics(t, func(t *testing.T) domain.Analytics {
		table := awstest.UniqueName("credence-analytics")
		_, err := client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
			TableName:   aws.String(table),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
			},
		})
		if err != nil {
			t.Fatalf("create table: %v", err)
		}
		w := dynamodb.NewTableExistsWaiter(client)
		if err := w.Wait(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 30*time.Second); err != nil {
			t.Fatalf("wait for table: %v", err)
		}
		t.Cleanup(func() {
			_, _ = client.DeleteTable(t.Context(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		})
		return dynamostore.NewAnalytics(dynamostore.New(client, table))
	})
}
