package cloud

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWSConfig is the SDK configuration of a function: the Lambda runtime hands the role's
// credentials and the region over in the environment, and that is all the configuration
// needs. Building it directly, instead of through the SDK's config package, keeps that
// package's SSO, STS, IMDS and profile-file providers (about 1.5 MB) out of the binaries, which
// must stay under 20 MB. To run a function elsewhere, export the same variables.
func AWSConfig(ctx context.Context) (aws.Config, error) {
	key, secret, region := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if key == "" || secret == "" || region == "" {
		return aws.Config{}, errors.New("aws config: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION must be set (the Lambda runtime sets them)")
	}
	// Lambda keeps these credentials valid for the life of the execution environment.
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))),
	}, nil
}
