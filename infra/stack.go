package infra

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3notifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Environment variables the functions read. These names are the contract with functions/*.
const (
	EnvStage               = "CREDENCE_STAGE"
	EnvTable               = "CREDENCE_TABLE"
	EnvBaseURL             = "CREDENCE_BASE_URL"
	EnvKMSEd25519Key       = "CREDENCE_KMS_ED25519_KEY"
	EnvKMSRSAKey           = "CREDENCE_KMS_RSA_KEY"
	EnvKMSKeyTag           = "CREDENCE_KMS_KEY_TAG"
	EnvRosterBucket        = "CREDENCE_ROSTER_BUCKET"
	EnvIssueQueueURL       = "CREDENCE_ISSUE_QUEUE_URL"
	EnvMailQueueURL        = "CREDENCE_MAIL_QUEUE_URL"
	EnvSESEventsQueueARN   = "CREDENCE_SES_EVENTS_QUEUE_ARN"
	EnvMailFrom            = "CREDENCE_MAIL_FROM"
	EnvSESConfigurationSet = "CREDENCE_SES_CONFIGURATION_SET"
	EnvDistributionID      = "CREDENCE_DISTRIBUTION_ID"
	EnvAdminKeySHA256      = "CREDENCE_ADMIN_KEY_SHA256"
	EnvLogLevel            = "LOG_LEVEL"
)

// KeyTagKey is the tag every Credence-managed KMS key carries, with the stack name as value.
// The api function may only create keys carrying it, and the functions may only use
// per-issuer keys carrying it.
const KeyTagKey = "credence:stack"

// IssuerTagKey is the second tag the api function may put on a per-issuer key.
const IssuerTagKey = "credence:issuer"

// Queue consumption. KMS allows 1,000 Sign requests per second per account and Region for
// ECC keys and, separately, 1,000 for RSA keys (adjustable quotas); every credential needs one
// Ed25519 and one RSA signature. An issue instance works through its batch one credential at
// a time, and an asymmetric Sign round trip takes no less than about 5 ms, so one instance
// asks for at most ~200 signatures per second per key type; 4 instances stay at or under
// 800/s, leaving a fifth of the quota to the api function's single issues and to status-list
// re-signing. At a realistic 15-25 ms per Sign that is ~160-260 credentials per second,
// i.e. a 10,000-row roster in about a minute. Lambda's smallest allowed maximum concurrency
// is 2, which is what the mail queue gets: SES allows 1 message/s in the sandbox and starts
// production accounts at 14/s, so the mail function reads its quota (ses:GetAccount) and paces
// each of its 2 instances to half of MaxSendRate; a throttled send is reported as a batch item
// failure and retried after the visibility timeout.
const (
	IssueBatchSize        = 10
	IssueMaxConcurrency   = 4
	MailBatchSize         = 10
	MailMaxConcurrency    = 2
	SESEventsBatchSize    = 10
	SESEventsConcurrency  = 2
	RosterFailuresBatch   = 10 // roster events that failed every attempt: rare, and each is one job update
	MaxReceiveCount       = 5
	visibilityPerTimeouts = 6 // AWS's advice for SQS event sources: 6x the function timeout
)

// fnSpec sizes one function. Go binaries are small and cold-start in ~50 ms, so memory is
// chosen for CPU share where there is CPU work (canonicalization, signing, XLSX parsing) and
// kept low where the work is waiting on the network.
type fnSpec struct {
	name        string
	description string
	memoryMB    float64
	timeoutSec  float64
}

var fnSpecs = map[string]fnSpec{
	// Answers API Gateway, whose integration timeout is 30 s; a single issue is two KMS
	// signatures and a few DynamoDB writes, well under a second.
	"api": {"api", "Credence admin REST API (/v1)", 512, 20},
	// Renders pages and PNGs, verifies uploads; a URL verification may fetch remote documents,
	// so it gets more than a page render needs but stays under CloudFront's 30 s origin timeout.
	"verify": {"verify", "Credence public site and verification", 512, 15},
	// Parses a whole roster (up to 10,000 XLSX rows held in memory) and enqueues it in batches.
	"roster": {"roster", "Credence roster intake (S3 rosters/ -> issue queue)", 1024, 300},
	// A batch of 10 credentials: 20 KMS signatures plus writes, with room for adaptive retries
	// when KMS throttles.
	"issue": {"issue", "Credence issuing (issue queue -> sign, store -> mail queue)", 512, 60},
	// A batch of 10 e-mails paced to the SES send rate, or 10 SES events; network-bound.
	"mail": {"mail", "Credence mail delivery and SES events", 256, 60},
}

// CredenceStack is one deployment. The fields are exported for the app and the tests.
type CredenceStack struct {
	awscdk.Stack
	Config       Config
	Functions    map[string]awslambda.Function
	Table        awsdynamodb.Table
	RosterBucket awss3.Bucket
	Distribution awscloudfront.Distribution
	AlarmTopic   awssns.Topic
}

// NewStack builds the stack for cfg under scope. It validates cfg and checks that the
// function bundles exist first, so `make synth` fails with one clear message instead of a
// jsii stack trace.
func NewStack(scope constructs.Construct, cfg Config) (*CredenceStack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid stack configuration: %w", err)
	}
	if err := cfg.CheckAssets(); err != nil {
		return nil, err
	}
	name := cfg.StackName()
	stack := awscdk.NewStack(scope, jsii.String(name), &awscdk.StackProps{
		StackName:   jsii.String(name),
		Description: jsii.String(fmt.Sprintf("Credence Open Badges 3.0 microcredentials (%s)", cfg.Stage)),
		// No AWS::CDK::Metadata resource: the template stays reproducible and phones nothing home.
		AnalyticsReporting: jsii.Bool(false),
	})
	awscdk.Tags_Of(stack).Add(jsii.String(KeyTagKey), jsii.String(name), nil)
	awscdk.Tags_Of(stack).Add(jsii.String("credence:stage"), jsii.String(cfg.Stage), nil)

	b := &builder{cfg: cfg, stack: stack}
	b.setStageDefaults()
	b.data()
	b.queues()
	b.functions()
	b.keys()
	b.adminAPI()
	b.site()
	b.rosterBucket()
	b.mailEvents()
	b.wire()
	b.alarms()
	b.outputs()

	return &CredenceStack{
		Stack: stack, Config: cfg, Functions: b.fns, Table: b.table,
		RosterBucket: b.bucket, Distribution: b.dist, AlarmTopic: b.alarmTopic,
	}, nil
}

// builder carries the resources between the steps of NewStack.
type builder struct {
	cfg   Config
	stack awscdk.Stack

	removal      awscdk.RemovalPolicy
	logRetention awslogs.RetentionDays
	logLevel     string

	table                          awsdynamodb.Table
	issueQ, issueDLQ               awssqs.Queue
	mailQ, mailDLQ                 awssqs.Queue
	sesEventsQ, sesEventsDLQ       awssqs.Queue
	rosterFailures, rosterFailDLQ  awssqs.Queue
	fns                            map[string]awslambda.Function
	keyEd25519, keyRSA             keyRef
	adminStage                     awsapigatewayv2.HttpStage
	siteAPI                        awsapigatewayv2.HttpApi
	dist                           awscloudfront.Distribution
	bucket                         awss3.Bucket
	configSet                      awsses.ConfigurationSet
	alarmTopic                     awssns.Topic
	baseURL, siteDomain, keyTagVal *string
}

func (b *builder) id(s string) *string { return jsii.String(s) }

func (b *builder) setStageDefaults() {
	if b.cfg.IsProd() {
		b.removal = awscdk.RemovalPolicy_RETAIN
		b.logRetention = awslogs.RetentionDays_THREE_MONTHS
		b.logLevel = "info"
	} else {
		b.removal = awscdk.RemovalPolicy_DESTROY
		b.logRetention = awslogs.RetentionDays_ONE_WEEK
		b.logLevel = "debug"
	}
	b.keyTagVal = jsii.String(KeyTagKey + "=" + b.cfg.StackName())
}

// data is the single table. Keys and index names are the store's contract.
func (b *builder) data() {
	str := func(n string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(n), Type: awsdynamodb.AttributeType_STRING}
	}
	b.table = awsdynamodb.NewTable(b.stack, b.id("Table"), &awsdynamodb.TableProps{
		PartitionKey: str("pk"),
		SortKey:      str("sk"),
		// On-demand: an institution pays per request and nothing while nobody issues.
		BillingMode: awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection:  jsii.Bool(b.cfg.IsProd()),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute: jsii.String("ttl"),
		RemovalPolicy:       b.removal,
	})
	for _, gsi := range []string{"gsi1", "gsi2"} {
		b.table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(gsi),
			PartitionKey:   str(gsi + "pk"),
			SortKey:        str(gsi + "sk"),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
}

// queue makes a work queue and its dead-letter queue. Messages that fail MaxReceiveCount
// times park in the DLQ for 14 days (the SQS maximum) and raise an alarm.
func (b *builder) queue(id string, consumerTimeoutSec float64) (awssqs.Queue, awssqs.Queue) {
	dlq := awssqs.NewQueue(b.stack, b.id(id+"DLQ"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	q := awssqs.NewQueue(b.stack, b.id(id), &awssqs.QueueProps{
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(consumerTimeoutSec * visibilityPerTimeouts)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(MaxReceiveCount)},
	})
	return q, dlq
}

func (b *builder) queues() {
	b.issueQ, b.issueDLQ = b.queue("IssueQueue", fnSpecs["issue"].timeoutSec)
	b.mailQ, b.mailDLQ = b.queue("MailQueue", fnSpecs["mail"].timeoutSec)
	b.sesEventsQ, b.sesEventsDLQ = b.queue("SesEventsQueue", fnSpecs["mail"].timeoutSec)
	// S3 invokes the roster function asynchronously; an event that still fails after Lambda's
	// two retries lands here instead of vanishing, and the roster function itself consumes it
	// to fail the event's job. Its DLQ holds what could not even be marked failed.
	b.rosterFailures, b.rosterFailDLQ = b.queue("RosterFailures", fnSpecs["roster"].timeoutSec)
}

func (b *builder) functions() {
	b.fns = map[string]awslambda.Function{}
	appLevel := awslambda.ApplicationLogLevel_INFO
	if !b.cfg.IsProd() {
		appLevel = awslambda.ApplicationLogLevel_DEBUG
	}
	for _, name := range FunctionNames {
		spec := fnSpecs[name]
		logical := title(name)
		logs := awslogs.NewLogGroup(b.stack, b.id(logical+"Logs"), &awslogs.LogGroupProps{
			Retention:     b.logRetention,
			RemovalPolicy: b.removal,
		})
		props := &awslambda.FunctionProps{
			Description:  jsii.String(spec.description),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(b.cfg.AssetPath(name)), nil),
			MemorySize:   jsii.Number(spec.memoryMB),
			Timeout:      awscdk.Duration_Seconds(jsii.Number(spec.timeoutSec)),
			// Structured JSON logs, filtered by level by Lambda itself; no X-Ray, whose per-trace
			// price would exceed the rest of the per-credential cost.
			LoggingFormat:         awslambda.LoggingFormat_JSON,
			ApplicationLogLevelV2: appLevel,
			SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
			LogGroup:              logs,
		}
		if name == "roster" {
			props.RetryAttempts = jsii.Number(2)
			props.OnFailure = awslambdadestinations.NewSqsDestination(b.rosterFailures)
		}
		b.fns[name] = awslambda.NewFunction(b.stack, b.id(logical+"Function"), props)
	}
}

// adminAPI is the HTTP API in front of the api function, routes /v1/... only.
func (b *builder) adminAPI() {
	api := awsapigatewayv2.NewHttpApi(b.stack, b.id("AdminApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(b.cfg.StackName() + "-admin"),
		Description:        jsii.String("Credence admin REST API"),
		CreateDefaultStage: jsii.Bool(false),
	})
	// 50 requests/s sustained (burst 100) is far above what an admin console or an LMS
	// integration needs, and keeps a leaked key or a runaway script from exhausting the
	// account's Lambda concurrency or the KMS quota (each single issue signs twice).
	b.adminStage = api.AddStage(b.id("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(50), BurstLimit: jsii.Number(100)},
	})
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:    jsii.String("/v1/{proxy+}"),
		Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(b.id("ApiIntegration"), b.fns["api"],
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			}),
	})
}

// rosterBucket receives roster uploads (presigned POST to rosters/) and holds error reports
// (reports/). Both are transient, so they expire.
func (b *builder) rosterBucket() {
	b.bucket = awss3.NewBucket(b.stack, b.id("RosterBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:                                  jsii.String("expire-rosters"),
				Prefix:                              jsii.String("rosters/"),
				Expiration:                          awscdk.Duration_Days(jsii.Number(RosterExpiryDays)),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				Id:         jsii.String("expire-reports"),
				Prefix:     jsii.String("reports/"),
				Expiration: awscdk.Duration_Days(jsii.Number(ReportExpiryDays)),
			},
		},
		// Presigned POST from a browser page on the public site (the admin console); the CLI
		// does not need CORS.
		Cors: &[]*awss3.CorsRule{{
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_POST},
			AllowedOrigins: jsii.Strings(*b.baseURL),
			AllowedHeaders: jsii.Strings("*"),
			ExposedHeaders: jsii.Strings("ETag", "Location"),
			MaxAge:         jsii.Number(3000),
		}},
		RemovalPolicy: b.removal,
		// A dev stack must be destroyable even with rosters in it; prod keeps the bucket.
		AutoDeleteObjects: jsii.Bool(!b.cfg.IsProd()),
	})
	b.bucket.AddEventNotification(awss3.EventType_OBJECT_CREATED,
		awss3notifications.NewLambdaDestination(b.fns["roster"]),
		&awss3.NotificationKeyFilter{Prefix: jsii.String("rosters/")})
}

// Lifecycle of the roster bucket.
const (
	RosterExpiryDays = 7
	ReportExpiryDays = 30
)

// mailEvents: SES publishes delivery events of the configuration set to an SNS topic (SES
// cannot publish to SQS directly), which delivers them raw to the SES events queue, so each
// SQS message body is one SES event JSON document.
func (b *builder) mailEvents() {
	b.configSet = awsses.NewConfigurationSet(b.stack, b.id("MailConfigurationSet"), &awsses.ConfigurationSetProps{
		ReputationMetrics:  jsii.Bool(true),
		SendingEnabled:     jsii.Bool(true),
		SuppressionReasons: awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
	})
	topic := awssns.NewTopic(b.stack, b.id("SesEventsTopic"), &awssns.TopicProps{
		EnforceSSL: jsii.Bool(true),
	})
	topic.AddSubscription(awssnssubscriptions.NewSqsSubscription(b.sesEventsQ, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
	}))
	b.configSet.AddEventDestination(b.id("ToSesEventsQueue"), &awsses.ConfigurationSetEventDestinationOptions{
		Destination: awsses.EventDestination_SnsTopic(topic),
		Events: &[]awsses.EmailSendingEvent{
			awsses.EmailSendingEvent_SEND,
			awsses.EmailSendingEvent_DELIVERY,
			awsses.EmailSendingEvent_BOUNCE,
			awsses.EmailSendingEvent_COMPLAINT,
			awsses.EmailSendingEvent_REJECT,
			awsses.EmailSendingEvent_DELIVERY_DELAY,
			awsses.EmailSendingEvent_RENDERING_FAILURE,
		},
	})
}

// wire gives each function its environment and its permissions. Each grant below is the
// contract in docs/deploy.md; nothing else is granted.
func (b *builder) wire() {
	api, verify, roster, issue, mail := b.fns["api"], b.fns["verify"], b.fns["roster"], b.fns["issue"], b.fns["mail"]
	for _, name := range FunctionNames {
		fn := b.fns[name]
		fn.AddEnvironment(jsii.String(EnvStage), jsii.String(b.cfg.Stage), nil)
		fn.AddEnvironment(jsii.String(EnvTable), b.table.TableName(), nil)
		fn.AddEnvironment(jsii.String(EnvBaseURL), b.baseURL, nil)
		fn.AddEnvironment(jsii.String(EnvLogLevel), jsii.String(b.logLevel), nil)
		b.table.GrantReadWriteData(fn)
	}
	for _, fn := range []awslambda.Function{api, issue, verify} {
		fn.AddEnvironment(jsii.String(EnvKMSEd25519Key), b.keyEd25519.arn, nil)
		fn.AddEnvironment(jsii.String(EnvKMSRSAKey), b.keyRSA.arn, nil)
	}

	// api
	api.AddEnvironment(jsii.String(EnvKMSKeyTag), b.keyTagVal, nil)
	api.AddEnvironment(jsii.String(EnvRosterBucket), b.bucket.BucketName(), nil)
	api.AddEnvironment(jsii.String(EnvIssueQueueURL), b.issueQ.QueueUrl(), nil)
	api.AddEnvironment(jsii.String(EnvMailQueueURL), b.mailQ.QueueUrl(), nil)
	api.AddEnvironment(jsii.String(EnvDistributionID), b.dist.DistributionId(), nil)
	api.AddEnvironment(jsii.String(EnvAdminKeySHA256), jsii.String(b.cfg.AdminKeyHash), nil)
	b.grantSign(api)
	b.grantCreateIssuerKeys(api)
	b.objectAccess(api, "rosters/*", "s3:PutObject") // the presigned POST is signed with this role
	b.reportAccess(api)                              // also the presigned GET of error reports
	b.issueQ.GrantSendMessages(api)
	b.mailQ.GrantSendMessages(api)
	b.dist.GrantCreateInvalidation(api)

	// verify
	verify.AddEnvironment(jsii.String(EnvDistributionID), b.dist.DistributionId(), nil)
	b.grantPublicKey(verify)
	b.dist.GrantCreateInvalidation(verify)

	// roster
	roster.AddEnvironment(jsii.String(EnvRosterBucket), b.bucket.BucketName(), nil)
	roster.AddEnvironment(jsii.String(EnvIssueQueueURL), b.issueQ.QueueUrl(), nil)
	b.objectAccess(roster, "rosters/*", "s3:GetObject")
	b.reportAccess(roster)
	// Without ListBucket, S3 answers a HEAD of a missing object with 403 instead of 404, and a
	// roster event for a deleted file would look like a permissions fault and be retried.
	roster.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  jsii.Strings(*b.bucket.BucketArn()),
		Conditions: &map[string]interface{}{"StringLike": map[string]interface{}{"s3:prefix": "rosters/*"}},
	}))
	b.issueQ.GrantSendMessages(roster)
	// Its own failures come back as SQS records (synchronous invocations, so a failing batch
	// is retried by SQS and never sent to the on-failure destination again).
	roster.AddEventSource(awslambdaeventsources.NewSqsEventSource(b.rosterFailures, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(RosterFailuresBatch),
		ReportBatchItemFailures: jsii.Bool(true),
	}))

	// issue
	issue.AddEnvironment(jsii.String(EnvMailQueueURL), b.mailQ.QueueUrl(), nil)
	issue.AddEnvironment(jsii.String(EnvRosterBucket), b.bucket.BucketName(), nil)
	b.reportAccess(issue)
	b.grantSign(issue)
	b.mailQ.GrantSendMessages(issue)
	issue.AddEventSource(awslambdaeventsources.NewSqsEventSource(b.issueQ, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(IssueBatchSize),
		MaxConcurrency:          jsii.Number(IssueMaxConcurrency),
		ReportBatchItemFailures: jsii.Bool(true),
	}))

	// mail
	mail.AddEnvironment(jsii.String(EnvMailFrom), jsii.String(b.cfg.MailFrom), nil)
	mail.AddEnvironment(jsii.String(EnvSESConfigurationSet), b.configSet.ConfigurationSetName(), nil)
	mail.AddEnvironment(jsii.String(EnvSESEventsQueueARN), b.sesEventsQ.QueueArn(), nil)
	mail.AddEnvironment(jsii.String(EnvRosterBucket), b.bucket.BucketName(), nil)
	b.reportAccess(mail)
	b.grantSendMail(mail)
	mail.AddEventSource(awslambdaeventsources.NewSqsEventSource(b.mailQ, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(MailBatchSize),
		MaxConcurrency:          jsii.Number(MailMaxConcurrency),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	mail.AddEventSource(awslambdaeventsources.NewSqsEventSource(b.sesEventsQ, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize: jsii.Number(SESEventsBatchSize),
		// Events are bookkeeping, not latency-sensitive: wait up to 5 s to fill a batch.
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(5)),
		MaxConcurrency:          jsii.Number(SESEventsConcurrency),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
}

// objectAccess grants S3 object actions under one prefix of the roster bucket; the grant*
// helpers of the bucket would add List/Abort/Tagging actions nobody uses.
func (b *builder) objectAccess(fn awslambda.Function, prefix string, actions ...string) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(*b.bucket.ArnForObjects(jsii.String(prefix))),
	}))
}

// reportAccess lets fn read and rewrite error reports. api, roster, issue and mail each may
// complete a job (whichever counts its last row or mail, or reads the job then), and completing
// one rewrites its report with the rows that went bad while issuing.
func (b *builder) reportAccess(fn awslambda.Function) {
	b.objectAccess(fn, "reports/*", "s3:GetObject", "s3:PutObject")
}

// grantSendMail lets the mail function send only from the configured sender, through the
// configuration set, and read its own sending quota.
func (b *builder) grantSendMail(fn awslambda.Function) {
	identity := func(name string) string {
		return *b.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String(name)})
	}
	configSet := b.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("configuration-set"), ResourceName: b.configSet.ConfigurationSetName()})
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		// SendRawEmail too: SES v2 SendEmail with Raw content (a badge attached) is authorised
		// as ses:SendRawEmail.
		Actions: jsii.Strings("ses:SendEmail", "ses:SendRawEmail"),
		// Either the address or its whole domain may be the verified identity.
		Resources: jsii.Strings(identity(b.cfg.MailDomain()), identity(b.cfg.MailFrom), *configSet),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"ses:FromAddress": b.cfg.MailFrom},
		},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ses:GetAccount"),
		Resources: jsii.Strings("*"), // GetAccount has no resource-level permissions
	}))
}

// alarms: anything in a dead-letter queue, any function error, any throttle. All go to one
// SNS topic; alarmEmail subscribes an address to it.
func (b *builder) alarms() {
	b.alarmTopic = awssns.NewTopic(b.stack, b.id("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Credence " + b.cfg.Stage + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if b.cfg.AlarmEmail != "" {
		b.alarmTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(b.cfg.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(b.alarmTopic)
	add := func(id string, metric awscloudwatch.Metric, threshold float64, op awscloudwatch.ComparisonOperator, desc string) {
		alarm := metric.CreateAlarm(b.stack, b.id(id), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(desc),
			Threshold:          jsii.Number(threshold),
			ComparisonOperator: op,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(action)
	}
	fiveMin := awscdk.Duration_Minutes(jsii.Number(5))
	for _, dlq := range []struct {
		id string
		q  awssqs.Queue
	}{
		{"IssueDLQ", b.issueDLQ}, {"MailDLQ", b.mailDLQ}, {"SesEventsDLQ", b.sesEventsDLQ}, {"RosterFailuresDLQ", b.rosterFailDLQ},
	} {
		add(dlq.id+"NotEmpty", dlq.q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: fiveMin, Statistic: jsii.String("Maximum"),
		}), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			dlq.id+" holds messages that failed "+fmt.Sprint(MaxReceiveCount)+" times; inspect and redrive them")
	}
	for _, name := range FunctionNames {
		fn := b.fns[name]
		add(title(name)+"Errors", fn.MetricErrors(&awscloudwatch.MetricOptions{Period: fiveMin, Statistic: jsii.String("Sum")}),
			1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, "the "+name+" function returned errors")
		add(title(name)+"Throttles", fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: fiveMin, Statistic: jsii.String("Sum")}),
			1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, "the "+name+" function was throttled (account concurrency)")
	}
}

func (b *builder) outputs() {
	out := func(id string, value *string, desc string) {
		awscdk.NewCfnOutput(b.stack, b.id(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(desc)})
	}
	out("ApiUrl", b.adminStage.Url(), "admin REST API base URL (routes under /v1/)")
	out("SiteUrl", b.baseURL, "public site: credential pages, DID documents, status lists, verifier")
	out("RosterBucketName", b.bucket.BucketName(), "roster uploads (rosters/) and error reports (reports/)")
	out("TableName", b.table.TableName(), "DynamoDB table")
	out("DistributionId", b.dist.DistributionId(), "CloudFront distribution of the public site")
	out("DistributionDomainName", b.dist.DistributionDomainName(), "point the custom domain's DNS record (CNAME or alias) here")
	out("SesConfigurationSetName", b.configSet.ConfigurationSetName(), "SES configuration set the mail function sends through")
	out("DefaultEd25519KeyArn", b.keyEd25519.arn, "KMS key of the default issuer (eddsa-rdfc-2022)")
	out("DefaultRsaKeyArn", b.keyRSA.arn, "KMS key of the default issuer (VC-JWT RS256)")
	out("AlarmTopicArn", b.alarmTopic.TopicArn(), "SNS topic every alarm notifies")
}

// title turns a function name into a CloudFormation logical ID prefix ("api" -> "Api").
func title(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
