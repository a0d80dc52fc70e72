package infra_test

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/credence-oss/credence/infra"
)

// The template tests synthesize the stack in-process (the jsii runtime starts node) with
// dummy function zips, once per configuration, and read the resulting CloudFormation.

var (
	fixtureDir string // dummy zips and the cloud assembly output
	synthMu    sync.Mutex
	synthed    = map[string]*synthesized{}
)

func TestMain(m *testing.M) {
	// Node 20 works, but jsii prints a banner about its end of life on every start.
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	dir, err := os.MkdirTemp("", "credence-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// synthesized is one stack's template, as the assertions library sees it and as plain JSON.
type synthesized struct {
	cfg  infra.Config
	tpl  assertions.Template
	json template
}

type template struct {
	Resources map[string]resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`
}

type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DependsOn      any            `json:"DependsOn"`
	DeletionPolicy string         `json:"DeletionPolicy"`
}

const (
	testAccountCert = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
	testDomain      = "credentials.uni.example"
	testSender      = "badges@uni.example"
)

func devConfig(t *testing.T) infra.Config {
	sum := sha256.Sum256([]byte("test admin key"))
	return infra.Config{Stage: infra.StageDev, AssetDir: assets(t), MailFrom: testSender, AdminKeyHash: hex.EncodeToString(sum[:])}
}

func prodConfig(t *testing.T) infra.Config {
	c := devConfig(t)
	c.Stage = infra.StageProd
	c.DomainName = testDomain
	c.CertificateArn = testAccountCert
	c.AlarmEmail = "ops@uni.example"
	return c
}

// assets writes one distinct dummy bootstrap zip per function: a fixture standing in for
// `make build`, which the template does not look into.
func assets(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(fixtureDir, "dist")
	for _, name := range infra.FunctionNames {
		p := filepath.Join(dir, name+".zip")
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		w, err := zw.Create("bootstrap")
		if err == nil {
			_, err = w.Write([]byte("not a real binary: " + name))
		}
		if err == nil {
			err = zw.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// synth returns the template for cfg, synthesizing it on first use.
func synth(t *testing.T, cfg infra.Config) *synthesized {
	t.Helper()
	key := fmt.Sprintf("%+v", cfg)
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthed[key]; ok {
		return s
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(fixtureDir, "out-"+cfg.Stage+fmt.Sprint(len(synthed))))})
	st, err := infra.NewStack(app, cfg)
	if err != nil {
		t.Fatalf("NewStack: %v", err)
	}
	tpl := assertions.Template_FromStack(st.Stack, nil)
	raw, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	s := &synthesized{cfg: cfg, tpl: tpl}
	if err := json.Unmarshal(raw, &s.json); err != nil {
		t.Fatal(err)
	}
	synthed[key] = s
	return s
}

func dev(t *testing.T) *synthesized  { return synth(t, devConfig(t)) }
func prod(t *testing.T) *synthesized { return synth(t, prodConfig(t)) }

// check runs an assertions call, which reports a mismatch by panicking through jsii, and turns
// that into a test error naming what was checked.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

// --- template helpers ------------------------------------------------------------------------

func (tm template) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range tm.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// function finds a Credence function by name (logical IDs start with "ApiFunction" etc.).
func (tm template) function(t *testing.T, name string) (string, resource) {
	t.Helper()
	prefix := strings.ToUpper(name[:1]) + name[1:] + "Function"
	var found []string
	for id, r := range tm.ofType("AWS::Lambda::Function") {
		if strings.HasPrefix(id, prefix) && len(id) == len(prefix)+8 { // + CDK's 8-hex suffix
			found = append(found, id)
			_ = r
		}
	}
	if len(found) != 1 {
		t.Fatalf("function %s: found %v", name, found)
	}
	return found[0], tm.Resources[found[0]]
}

// roleOf is the logical ID of a function's execution role.
func (tm template) roleOf(t *testing.T, name string) string {
	t.Helper()
	_, fn := tm.function(t, name)
	return getAttTarget(fn.Properties["Role"])
}

// getAttTarget returns X for {"Fn::GetAtt": [X, _]}, and refTarget X for {"Ref": X}.
func getAttTarget(v any) string {
	if m, ok := v.(map[string]any); ok {
		if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			s, _ := ga[0].(string)
			return s
		}
	}
	return ""
}

func refTarget(v any) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m["Ref"].(string)
		return s
	}
	return ""
}

type statement struct {
	Effect    string
	Sid       string
	Action    []string
	Resource  []any
	Principal []any
	Condition map[string]any
	NotAction any
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

func statements(doc any) []statement {
	m, _ := doc.(map[string]any)
	var out []statement
	for _, s := range asList(m["Statement"]) {
		sm, _ := s.(map[string]any)
		st := statement{NotAction: sm["NotAction"]}
		st.Effect, _ = sm["Effect"].(string)
		st.Sid, _ = sm["Sid"].(string)
		for _, a := range asList(sm["Action"]) {
			if s, ok := a.(string); ok {
				st.Action = append(st.Action, s)
			}
		}
		st.Resource = asList(sm["Resource"])
		if p, ok := sm["Principal"].(map[string]any); ok {
			st.Principal = asList(p["AWS"])
		}
		st.Condition, _ = sm["Condition"].(map[string]any)
		out = append(out, st)
	}
	return out
}

// rolePolicy gathers every statement attached to a role through AWS::IAM::Policy resources.
func (tm template) rolePolicy(role string) []statement {
	var out []statement
	for _, p := range tm.ofType("AWS::IAM::Policy") {
		for _, r := range asList(p.Properties["Roles"]) {
			if refTarget(r) == role {
				out = append(out, statements(p.Properties["PolicyDocument"])...)
			}
		}
	}
	return out
}

func actionsOf(sts []statement) map[string]bool {
	out := map[string]bool{}
	for _, s := range sts {
		if s.Effect == "Allow" {
			for _, a := range s.Action {
				out[a] = true
			}
		}
	}
	return out
}

func has(v []string, want string) bool {
	for _, s := range v {
		if s == want {
			return true
		}
	}
	return false
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// --- DynamoDB --------------------------------------------------------------------------------

func TestTableIsOnDemandWithPITREncryptionTTLAndTheStoreIndexes(t *testing.T) {
	for _, s := range []*synthesized{dev(t), prod(t)} {
		check(t, s.cfg.Stage+" table", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
				"BillingMode": "PAY_PER_REQUEST",
				"KeySchema": []any{
					map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
				},
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"SSESpecification":                 map[string]any{"SSEEnabled": true},
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
				"GlobalSecondaryIndexes": []any{
					map[string]any{
						"IndexName": "gsi1",
						"KeySchema": []any{
							map[string]any{"AttributeName": "gsi1pk", "KeyType": "HASH"},
							map[string]any{"AttributeName": "gsi1sk", "KeyType": "RANGE"},
						},
						"Projection": map[string]any{"ProjectionType": "ALL"},
					},
					map[string]any{
						"IndexName": "gsi2",
						"KeySchema": []any{
							map[string]any{"AttributeName": "gsi2pk", "KeyType": "HASH"},
							map[string]any{"AttributeName": "gsi2sk", "KeyType": "RANGE"},
						},
						"Projection": map[string]any{"ProjectionType": "ALL"},
					},
				},
			})
		})
	}
	check(t, "prod table protected", func() {
		prod(t).tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties":     assertions.Match_ObjectLike(&map[string]any{"DeletionProtectionEnabled": true}),
		})
	})
	check(t, "dev table deletable", func() {
		dev(t).tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Delete",
			"Properties":     assertions.Match_ObjectLike(&map[string]any{"DeletionProtectionEnabled": false}),
		})
	})
}

// --- KMS -------------------------------------------------------------------------------------

func TestDefaultIssuerKeysAreEd25519AndRSASigningKeys(t *testing.T) {
	s := dev(t)
	keys := s.json.ofType("AWS::KMS::Key")
	if len(keys) != 2 {
		t.Fatalf("want 2 KMS keys, got %d", len(keys))
	}
	specs := map[string]string{}
	for id, k := range keys {
		specs[fmt.Sprint(k.Properties["KeySpec"])] = id
		if k.Properties["KeyUsage"] != "SIGN_VERIFY" {
			t.Errorf("%s: KeyUsage = %v", id, k.Properties["KeyUsage"])
		}
	}
	for _, spec := range []string{"ECC_NIST_EDWARDS25519", "RSA_2048"} {
		if specs[spec] == "" {
			t.Errorf("no %s key (have %v)", spec, specs)
		}
	}
	check(t, "prod keys retained", func() {
		prod(t).tpl.AllResources(jsii.String("AWS::KMS::Key"), map[string]any{"DeletionPolicy": "Retain"})
	})
}

func TestKeyPoliciesLetOnlyTheIssuingFunctionsSign(t *testing.T) {
	s := dev(t)
	signers := map[string]bool{s.json.roleOf(t, "api"): true, s.json.roleOf(t, "issue"): true}
	algs := map[string]string{"ECC_NIST_EDWARDS25519": infra.AlgEd25519, "RSA_2048": infra.AlgRS256}
	for id, k := range s.json.ofType("AWS::KMS::Key") {
		var signStatements, publicKeyForAccount int
		for _, st := range statements(k.Properties["KeyPolicy"]) {
			if st.NotAction != nil {
				t.Errorf("%s: NotAction in key policy", id)
			}
			if has(st.Action, "kms:Sign") {
				signStatements++
				got := map[string]bool{}
				for _, p := range st.Principal {
					got[getAttTarget(p)] = true
				}
				if len(got) != len(signers) || !got[s.json.roleOf(t, "api")] || !got[s.json.roleOf(t, "issue")] {
					t.Errorf("%s: kms:Sign principals %s, want the api and issue roles %v", id, jsonString(st.Principal), signers)
				}
				alg := jsonString(st.Condition)
				if want := algs[fmt.Sprint(k.Properties["KeySpec"])]; !strings.Contains(alg, `"kms:SigningAlgorithm":"`+want+`"`) {
					t.Errorf("%s: Sign condition %s does not pin %s", id, alg, want)
				}
			}
			if has(st.Action, "kms:GetPublicKey") && strings.Contains(jsonString(st.Principal), ":root") {
				publicKeyForAccount++
			}
			for _, a := range st.Action {
				if a == "kms:Sign" {
					continue
				}
				if !has(infra.KeyAdminActions, a) && a != "kms:GetPublicKey" {
					t.Errorf("%s: key policy grants %s", id, a)
				}
			}
		}
		if signStatements != 1 {
			t.Errorf("%s: %d statements grant kms:Sign, want exactly 1", id, signStatements)
		}
		if publicKeyForAccount != 1 {
			t.Errorf("%s: GetPublicKey is not granted to the account", id)
		}
	}
}

// Every KMS action anywhere (key policies and IAM policies) is named in full.
func TestNoWildcardKMSActions(t *testing.T) {
	for _, s := range []*synthesized{dev(t), prod(t)} {
		var docs []any
		for _, r := range s.json.ofType("AWS::KMS::Key") {
			docs = append(docs, r.Properties["KeyPolicy"])
		}
		for _, r := range s.json.ofType("AWS::IAM::Policy") {
			docs = append(docs, r.Properties["PolicyDocument"])
		}
		for _, r := range s.json.ofType("AWS::IAM::Role") {
			for _, p := range asList(r.Properties["Policies"]) {
				pm, _ := p.(map[string]any)
				docs = append(docs, pm["PolicyDocument"])
			}
		}
		kmsActions := 0
		for _, d := range docs {
			for _, st := range statements(d) {
				for _, a := range st.Action {
					if a == "*" || (strings.HasPrefix(strings.ToLower(a), "kms:") && strings.ContainsAny(a, "*?")) {
						t.Errorf("%s: wildcard action %q", s.cfg.Stage, a)
					}
					if strings.HasPrefix(a, "kms:") {
						kmsActions++
					}
				}
			}
		}
		if kmsActions < 10 { // guards the walk itself: the stack grants well over ten
			t.Errorf("%s: found only %d KMS actions; the policy walk is broken", s.cfg.Stage, kmsActions)
		}
	}
}

func TestOnlyTheApiCreatesIssuerKeysAndOnlyTaggedOnes(t *testing.T) {
	s := dev(t)
	for _, name := range infra.FunctionNames {
		acts := actionsOf(s.json.rolePolicy(s.json.roleOf(t, name)))
		if (name == "api") != acts["kms:CreateKey"] {
			t.Errorf("%s: kms:CreateKey granted = %v", name, acts["kms:CreateKey"])
		}
	}
	var create, tag *statement
	for _, st := range s.json.rolePolicy(s.json.roleOf(t, "api")) {
		st := st
		if has(st.Action, "kms:CreateKey") {
			create = &st
		}
		if has(st.Action, "kms:TagResource") {
			tag = &st
		}
	}
	if create == nil || tag == nil {
		t.Fatalf("api: CreateKey %v, TagResource %v", create, tag)
	}
	for what, st := range map[string]*statement{"CreateKey": create, "TagResource": tag} {
		c := jsonString(st.Condition)
		if !strings.Contains(c, `"aws:RequestTag/credence:stack":"credence-dev"`) {
			t.Errorf("%s condition %s does not require the stack tag", what, c)
		}
		if !strings.Contains(c, `"ForAllValues:StringEquals":{"aws:TagKeys":["credence:stack","credence:issuer"]}`) {
			t.Errorf("%s condition %s does not limit the tag keys", what, c)
		}
	}
	if c := jsonString(create.Condition); !strings.Contains(c, `"kms:KeyUsage":"SIGN_VERIFY"`) ||
		!strings.Contains(c, `"kms:KeySpec":["ECC_NIST_EDWARDS25519","RSA_2048"]`) {
		t.Errorf("CreateKey condition %s does not pin usage and specs", c)
	}
	// Signing with per-issuer keys is conditioned on the same tag; verify only reads them.
	for _, name := range []string{"api", "issue", "verify"} {
		found := false
		for _, st := range s.json.rolePolicy(s.json.roleOf(t, name)) {
			if has(st.Action, "kms:GetPublicKey") && strings.Contains(jsonString(st.Condition), `"aws:ResourceTag/credence:stack":"credence-dev"`) {
				found = true
				if name == "verify" && has(st.Action, "kms:Sign") {
					t.Errorf("verify may sign with tagged keys")
				}
			}
		}
		if !found {
			t.Errorf("%s: no tag-conditioned statement for per-issuer keys", name)
		}
	}
	// The signing roles carry the tag that per-issuer key policies check.
	for _, name := range infra.FunctionNames {
		role := s.json.Resources[s.json.roleOf(t, name)]
		tagged := strings.Contains(jsonString(role.Properties["Tags"]), `{"Key":"credence:signer","Value":"credence-dev"}`)
		if tagged != (name == "api" || name == "issue") {
			t.Errorf("%s role: credence:signer tag = %v", name, tagged)
		}
	}
}

// --- Functions -------------------------------------------------------------------------------

// The environment of each function is the contract with functions/*: exactly these names.
var wantEnv = map[string][]string{
	"api": {"CREDENCE_STAGE", "CREDENCE_TABLE", "CREDENCE_BASE_URL", "LOG_LEVEL", "CREDENCE_KMS_ED25519_KEY",
		"CREDENCE_KMS_RSA_KEY", "CREDENCE_KMS_KEY_TAG", "CREDENCE_ROSTER_BUCKET", "CREDENCE_ISSUE_QUEUE_URL",
		"CREDENCE_MAIL_QUEUE_URL", "CREDENCE_DISTRIBUTION_ID", "CREDENCE_ADMIN_KEY_SHA256"},
	"verify": {"CREDENCE_STAGE", "CREDENCE_TABLE", "CREDENCE_BASE_URL", "LOG_LEVEL", "CREDENCE_KMS_ED25519_KEY",
		"CREDENCE_KMS_RSA_KEY", "CREDENCE_DISTRIBUTION_ID"},
	"roster": {"CREDENCE_STAGE", "CREDENCE_TABLE", "CREDENCE_BASE_URL", "LOG_LEVEL", "CREDENCE_ROSTER_BUCKET",
		"CREDENCE_ISSUE_QUEUE_URL"},
	"issue": {"CREDENCE_STAGE", "CREDENCE_TABLE", "CREDENCE_BASE_URL", "LOG_LEVEL", "CREDENCE_ROSTER_BUCKET", "CREDENCE_KMS_ED25519_KEY",
		"CREDENCE_KMS_RSA_KEY", "CREDENCE_MAIL_QUEUE_URL"},
	"mail": {"CREDENCE_STAGE", "CREDENCE_TABLE", "CREDENCE_BASE_URL", "LOG_LEVEL", "CREDENCE_ROSTER_BUCKET", "CREDENCE_MAIL_FROM",
		"CREDENCE_SES_CONFIGURATION_SET", "CREDENCE_SES_EVENTS_QUEUE_ARN"},
}

func envOf(r resource) map[string]any {
	e, _ := r.Properties["Environment"].(map[string]any)
	v, _ := e["Variables"].(map[string]any)
	return v
}

func TestFunctionsAreArm64AL2023BootstrapsWithJSONLogsAndTheContractEnvironment(t *testing.T) {
	for _, s := range []*synthesized{dev(t), prod(t)} {
		wantRetention := 7.0
		if s.cfg.IsProd() {
			wantRetention = 90
		}
		credence := 0
		for _, r := range s.json.ofType("AWS::Lambda::Function") {
			if envOf(r)["CREDENCE_STAGE"] != nil {
				credence++
			}
		}
		if credence != len(infra.FunctionNames) {
			t.Errorf("%s: %d functions carry CREDENCE_STAGE, want %d", s.cfg.Stage, credence, len(infra.FunctionNames))
		}
		for _, name := range infra.FunctionNames {
			id, fn := s.json.function(t, name)
			p := fn.Properties
			if p["Runtime"] != "provided.al2023" || jsonString(p["Architectures"]) != `["arm64"]` || p["Handler"] != "bootstrap" {
				t.Errorf("%s %s: runtime %v arch %v handler %v", s.cfg.Stage, id, p["Runtime"], p["Architectures"], p["Handler"])
			}
			if mem, _ := p["MemorySize"].(float64); mem < 128 || mem > 2048 {
				t.Errorf("%s: memory %v", id, p["MemorySize"])
			}
			if to, _ := p["Timeout"].(float64); to <= 3 || to > 900 {
				t.Errorf("%s: timeout %v", id, p["Timeout"])
			}
			lc, _ := p["LoggingConfig"].(map[string]any)
			if lc["LogFormat"] != "JSON" {
				t.Errorf("%s: LoggingConfig %v", id, lc)
			}
			lg := s.json.Resources[refTarget(lc["LogGroup"])]
			if lg.Type != "AWS::Logs::LogGroup" || lg.Properties["RetentionInDays"] != wantRetention {
				t.Errorf("%s %s: log group %+v, want retention %v", s.cfg.Stage, id, lg, wantRetention)
			}
			env := envOf(fn)
			var got []string
			for k := range env {
				got = append(got, k)
			}
			want := append([]string(nil), wantEnv[name]...)
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s %s environment:\n got %v\nwant %v", s.cfg.Stage, name, got, want)
			}
			if env["CREDENCE_STAGE"] != s.cfg.Stage {
				t.Errorf("%s: CREDENCE_STAGE = %v", name, env["CREDENCE_STAGE"])
			}
		}
	}
	s := dev(t)
	_, api := s.json.function(t, "api")
	if env := envOf(api); env["CREDENCE_ADMIN_KEY_SHA256"] != s.cfg.AdminKeyHash || env["CREDENCE_KMS_KEY_TAG"] != "credence:stack=credence-dev" {
		t.Errorf("api env: admin hash %v, key tag %v", env["CREDENCE_ADMIN_KEY_SHA256"], env["CREDENCE_KMS_KEY_TAG"])
	}
	_, mail := s.json.function(t, "mail")
	if env := envOf(mail); env["CREDENCE_MAIL_FROM"] != testSender {
		t.Errorf("mail: CREDENCE_MAIL_FROM = %v", env["CREDENCE_MAIL_FROM"])
	}
	// With a custom domain the base URL is that domain on every function.
	for _, name := range infra.FunctionNames {
		_, fn := prod(t).json.function(t, name)
		if got := envOf(fn)["CREDENCE_BASE_URL"]; got != "https://"+testDomain {
			t.Errorf("prod %s: CREDENCE_BASE_URL = %v", name, jsonString(got))
		}
	}
}

func TestEachFunctionGetsOnlyItsPermissions(t *testing.T) {
	s := dev(t)
	must := map[string][]string{
		"api": {"dynamodb:PutItem", "kms:Sign", "kms:GetPublicKey", "kms:CreateKey", "kms:TagResource", "s3:PutObject",
			"s3:GetObject", "sqs:SendMessage", "cloudfront:CreateInvalidation"},
		"verify": {"dynamodb:UpdateItem", "kms:GetPublicKey", "cloudfront:CreateInvalidation"},
		"roster": {"dynamodb:PutItem", "s3:GetObject", "s3:PutObject", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"},
		"issue":  {"dynamodb:PutItem", "kms:Sign", "kms:GetPublicKey", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"},
		"mail":   {"dynamodb:UpdateItem", "ses:SendEmail", "ses:GetAccount", "sqs:ReceiveMessage", "sqs:DeleteMessage"},
	}
	mustNot := map[string][]string{
		"api":    {"sqs:ReceiveMessage", "ses:SendEmail"},
		"verify": {"kms:Sign", "kms:CreateKey", "s3:PutObject", "s3:GetObject", "sqs:SendMessage", "ses:SendEmail"},
		"roster": {"kms:Sign", "kms:GetPublicKey", "ses:SendEmail", "cloudfront:CreateInvalidation"},
		"issue":  {"kms:CreateKey", "ses:SendEmail", "cloudfront:CreateInvalidation"},
		"mail":   {"kms:Sign", "kms:GetPublicKey", "sqs:SendMessage", "cloudfront:CreateInvalidation"},
	}
	for _, name := range infra.FunctionNames {
		acts := actionsOf(s.json.rolePolicy(s.json.roleOf(t, name)))
		for _, a := range must[name] {
			if !acts[a] {
				t.Errorf("%s lacks %s", name, a)
			}
		}
		for _, a := range mustNot[name] {
			if acts[a] {
				t.Errorf("%s has %s", name, a)
			}
		}
	}
	// S3 object access is per prefix.
	prefixes := func(name, action string) []string {
		var out []string
		for _, st := range s.json.rolePolicy(s.json.roleOf(t, name)) {
			if has(st.Action, action) {
				for _, r := range st.Resource {
					j := jsonString(r)
					out = append(out, j[strings.LastIndex(j, `"/`)+2:strings.LastIndex(j, `"`)])
				}
			}
		}
		return out
	}
	// Whoever completes a job rewrites its error report (reports/): api, roster, issue, mail.
	for _, tc := range []struct {
		fn, action string
		want       []string
	}{
		{"api", "s3:PutObject", []string{"reports/*", "rosters/*"}}, {"api", "s3:GetObject", []string{"reports/*"}},
		{"roster", "s3:GetObject", []string{"reports/*", "rosters/*"}}, {"roster", "s3:PutObject", []string{"reports/*"}},
		{"issue", "s3:GetObject", []string{"reports/*"}}, {"issue", "s3:PutObject", []string{"reports/*"}},
		{"mail", "s3:GetObject", []string{"reports/*"}}, {"mail", "s3:PutObject", []string{"reports/*"}},
		{"verify", "s3:GetObject", nil},
	} {
		got := prefixes(tc.fn, tc.action)
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s %s on %v, want only %v", tc.fn, tc.action, got, tc.want)
		}
	}
	// roster may list the bucket (so a missing file is a 404), under rosters/ only.
	var listed bool
	for _, st := range s.json.rolePolicy(s.json.roleOf(t, "roster")) {
		if has(st.Action, "s3:ListBucket") {
			listed = true
			if c := jsonString(st.Condition); !strings.Contains(c, `"s3:prefix":"rosters/*"`) {
				t.Errorf("roster s3:ListBucket condition %s, want the rosters/ prefix only", c)
			}
		}
	}
	if !listed {
		t.Error("roster cannot s3:ListBucket: a missing roster file would be a 403, not a 404")
	}
	// SES: only the configured sender, through the identity and the configuration set.
	for _, st := range s.json.rolePolicy(s.json.roleOf(t, "mail")) {
		if !has(st.Action, "ses:SendEmail") {
			continue
		}
		res := jsonString(st.Resource)
		for _, want := range []string{":identity/uni.example", ":identity/" + testSender, ":configuration-set/"} {
			if !strings.Contains(res, want) {
				t.Errorf("ses:SendEmail resources %s lack %s", res, want)
			}
		}
		if c := jsonString(st.Condition); !strings.Contains(c, `"ses:FromAddress":"`+testSender+`"`) {
			t.Errorf("ses:SendEmail condition %s", c)
		}
	}
}

// --- Queues ----------------------------------------------------------------------------------

func TestWorkQueuesHaveDLQsAndVisibilityAboveSixConsumerTimeouts(t *testing.T) {
	s := dev(t)
	esms := s.json.ofType("AWS::Lambda::EventSourceMapping")
	if len(esms) != 4 {
		t.Fatalf("want 4 event source mappings (issue, mail, SES events, roster failures), got %d", len(esms))
	}
	consumers := map[string]string{} // queue -> function
	for id, m := range esms {
		p := m.Properties
		queue, fn := getAttTarget(p["EventSourceArn"]), refTarget(p["FunctionName"])
		consumers[queue] = fn
		if jsonString(p["FunctionResponseTypes"]) != `["ReportBatchItemFailures"]` {
			t.Errorf("%s: FunctionResponseTypes %v", id, p["FunctionResponseTypes"])
		}
		q := s.json.Resources[queue]
		rp, _ := q.Properties["RedrivePolicy"].(map[string]any)
		if rp["maxReceiveCount"] != float64(infra.MaxReceiveCount) {
			t.Errorf("queue %s: redrive %v", queue, rp)
		}
		dlq := s.json.Resources[getAttTarget(rp["deadLetterTargetArn"])]
		if dlq.Type != "AWS::SQS::Queue" || dlq.Properties["MessageRetentionPeriod"] != float64(14*24*3600) {
			t.Errorf("queue %s: DLQ %+v", queue, dlq)
		}
		vis, _ := q.Properties["VisibilityTimeout"].(float64)
		timeout, _ := s.json.Resources[fn].Properties["Timeout"].(float64)
		if vis < 6*timeout {
			t.Errorf("queue %s: visibility %vs < 6 x %s timeout %vs", queue, vis, fn, timeout)
		}
		if q.Properties["SqsManagedSseEnabled"] != true {
			t.Errorf("queue %s not encrypted", queue)
		}
	}
	issueFn, _ := s.json.function(t, "issue")
	mailFn, _ := s.json.function(t, "mail")
	want := map[string]struct {
		fn          string
		batch, conc float64
	}{"IssueQueue": {issueFn, infra.IssueBatchSize, infra.IssueMaxConcurrency}, "MailQueue": {mailFn, infra.MailBatchSize, infra.MailMaxConcurrency},
		"SesEventsQueue": {mailFn, infra.SESEventsBatchSize, infra.SESEventsConcurrency}}
	for prefix, w := range want {
		found := false
		for _, m := range esms {
			q := getAttTarget(m.Properties["EventSourceArn"])
			if !strings.HasPrefix(q, prefix) || strings.Contains(q, "DLQ") {
				continue
			}
			found = true
			if refTarget(m.Properties["FunctionName"]) != w.fn || m.Properties["BatchSize"] != w.batch ||
				jsonString(m.Properties["ScalingConfig"]) != fmt.Sprintf(`{"MaximumConcurrency":%v}`, w.conc) {
				t.Errorf("%s mapping: %s", prefix, jsonString(m.Properties))
			}
		}
		if !found {
			t.Errorf("no event source mapping for %s", prefix)
		}
	}
	// The roster function drains its own failures (FailRoster). The loop above checked the
	// partial batch responses, the redrive to a 14-day DLQ and the visibility timeout against
	// the roster function's; these are the exact values.
	rosterFn, _ := s.json.function(t, "roster")
	rosterFailures := ""
	for _, m := range esms {
		if q := getAttTarget(m.Properties["EventSourceArn"]); strings.HasPrefix(q, "RosterFailures") {
			rosterFailures = q
			if refTarget(m.Properties["FunctionName"]) != rosterFn || m.Properties["BatchSize"] != float64(infra.RosterFailuresBatch) {
				t.Errorf("RosterFailures mapping: %s", jsonString(m.Properties))
			}
		}
	}
	if rosterFailures == "" || strings.Contains(rosterFailures, "DLQ") {
		t.Fatalf("no event source mapping from the RosterFailures queue (found %q)", rosterFailures)
	}
	rq := s.json.Resources[rosterFailures].Properties
	if rq["VisibilityTimeout"] != float64(6*300) {
		t.Errorf("RosterFailures visibility timeout %v, want 1800 s (6 x the roster function's 300 s)", rq["VisibilityTimeout"])
	}
	rp, _ := rq["RedrivePolicy"].(map[string]any)
	if dlq := getAttTarget(rp["deadLetterTargetArn"]); !strings.HasPrefix(dlq, "RosterFailuresDLQ") || rp["maxReceiveCount"] != float64(infra.MaxReceiveCount) {
		t.Errorf("RosterFailures redrive policy %s, want RosterFailuresDLQ after %d receives", jsonString(rp), infra.MaxReceiveCount)
	} else if dp := s.json.Resources[dlq].Properties; dp["SqsManagedSseEnabled"] != true {
		t.Errorf("RosterFailuresDLQ not encrypted: %s", jsonString(dp))
	}
	check(t, "the roster function's failures are read with partial batch responses", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"FunctionName":          map[string]any{"Ref": rosterFn},
			"EventSourceArn":        map[string]any{"Fn::GetAtt": []any{rosterFailures, "Arn"}},
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
		})
	})
	// Both roster failure queues refuse plain HTTP.
	for _, q := range []string{rosterFailures, getAttTarget(rp["deadLetterTargetArn"])} {
		tls := false
		for _, p := range s.json.ofType("AWS::SQS::QueuePolicy") {
			if jsonString(p.Properties["Queues"]) == `[{"Ref":"`+q+`"}]` {
				tls = tls || strings.Contains(jsonString(p.Properties["PolicyDocument"]), `"aws:SecureTransport":"false"`)
			}
		}
		if !tls {
			t.Errorf("%s does not enforce TLS", q)
		}
	}
	// The bounds the comment in stack.go reasons about.
	if infra.IssueMaxConcurrency*200 > 1000 {
		t.Errorf("issue concurrency %d can exceed the KMS Sign quota", infra.IssueMaxConcurrency)
	}
	_, mail := s.json.function(t, "mail")
	if got := envOf(mail)["CREDENCE_SES_EVENTS_QUEUE_ARN"]; getAttTarget(got) == "" || !strings.HasPrefix(getAttTarget(got), "SesEventsQueue") {
		t.Errorf("mail CREDENCE_SES_EVENTS_QUEUE_ARN = %s", jsonString(got))
	}
	check(t, "roster failures go to a queue", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"MaximumRetryAttempts": 2,
			"DestinationConfig": map[string]any{"OnFailure": map[string]any{
				"Destination": assertions.Match_ObjectLike(&map[string]any{"Fn::GetAtt": assertions.Match_ArrayWith(&[]any{assertions.Match_StringLikeRegexp(jsii.String("^RosterFailures"))})}),
			}},
		})
	})
}

// --- S3 --------------------------------------------------------------------------------------

func TestRosterBucketIsPrivateEncryptedTLSOnlyExpiringWithCORSAndNotification(t *testing.T) {
	s := dev(t)
	check(t, "bucket", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
			}},
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Prefix": "rosters/", "ExpirationInDays": infra.RosterExpiryDays, "Status": "Enabled"}),
				assertions.Match_ObjectLike(&map[string]any{"Prefix": "reports/", "ExpirationInDays": infra.ReportExpiryDays, "Status": "Enabled"}),
			})},
			"CorsConfiguration": map[string]any{"CorsRules": []any{
				assertions.Match_ObjectLike(&map[string]any{"AllowedMethods": []any{"POST"}}),
			}},
		})
	})
	check(t, "TLS-only bucket policy", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				}),
			})},
		})
	})
	rosterFn, _ := s.json.function(t, "roster")
	check(t, "ObjectCreated on rosters/ -> roster", func() {
		s.tpl.HasResourceProperties(jsii.String("Custom::S3BucketNotifications"), map[string]any{
			"NotificationConfiguration": map[string]any{"LambdaFunctionConfigurations": []any{map[string]any{
				"Events":            []any{"s3:ObjectCreated:*"},
				"Filter":            map[string]any{"Key": map[string]any{"FilterRules": []any{map[string]any{"Name": "prefix", "Value": "rosters/"}}}},
				"LambdaFunctionArn": map[string]any{"Fn::GetAtt": []any{rosterFn, "Arn"}},
			}}},
		})
	})
	check(t, "prod bucket kept", func() {
		prod(t).tpl.HasResource(jsii.String("AWS::S3::Bucket"), map[string]any{"DeletionPolicy": "Retain"})
	})
}

// --- API Gateway -----------------------------------------------------------------------------

func TestAdminApiRoutesV1ToTheApiFunctionWithThrottling(t *testing.T) {
	s := dev(t)
	apiFn, _ := s.json.function(t, "api")
	var route resource
	for _, r := range s.json.ofType("AWS::ApiGatewayV2::Route") {
		if r.Properties["RouteKey"] == "ANY /v1/{proxy+}" {
			route = r
		}
	}
	if route.Type == "" {
		t.Fatal("no ANY /v1/{proxy+} route")
	}
	target := jsonString(route.Properties["Target"])
	var integ resource
	for id, r := range s.json.ofType("AWS::ApiGatewayV2::Integration") {
		if strings.Contains(target, `"Ref":"`+id+`"`) {
			integ = r
		}
	}
	if integ.Properties["PayloadFormatVersion"] != "2.0" || getAttTarget(integ.Properties["IntegrationUri"]) != apiFn {
		t.Errorf("route integration: %s", jsonString(integ.Properties))
	}
	apiID := refTarget(route.Properties["ApiId"])
	throttled := false
	for _, st := range s.json.ofType("AWS::ApiGatewayV2::Stage") {
		if refTarget(st.Properties["ApiId"]) != apiID {
			continue
		}
		rs, _ := st.Properties["DefaultRouteSettings"].(map[string]any)
		rate, _ := rs["ThrottlingRateLimit"].(float64)
		burst, _ := rs["ThrottlingBurstLimit"].(float64)
		throttled = st.Properties["StageName"] == "$default" && rate > 0 && burst >= rate
	}
	if !throttled {
		t.Error("the admin API's $default stage is not throttled")
	}
	check(t, "api URL output", func() { s.tpl.HasOutput(jsii.String("ApiUrl"), map[string]any{}) })
}

// --- CloudFront ------------------------------------------------------------------------------

const cachingDisabledID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" // AWS managed CachingDisabled

func distribution(t *testing.T, s *synthesized) map[string]any {
	t.Helper()
	ds := s.json.ofType("AWS::CloudFront::Distribution")
	if len(ds) != 1 {
		t.Fatalf("want 1 distribution, got %d", len(ds))
	}
	for _, d := range ds {
		dc, _ := d.Properties["DistributionConfig"].(map[string]any)
		return dc
	}
	return nil
}

// behaviors maps path pattern ("*" for the default) to its behavior.
func behaviors(t *testing.T, s *synthesized) map[string]map[string]any {
	dc := distribution(t, s)
	out := map[string]map[string]any{}
	def, _ := dc["DefaultCacheBehavior"].(map[string]any)
	out["*"] = def
	for _, b := range asList(dc["CacheBehaviors"]) {
		bm, _ := b.(map[string]any)
		out[fmt.Sprint(bm["PathPattern"])] = bm
	}
	return out
}

func TestCachePoliciesPerPath(t *testing.T) {
	s := dev(t)
	bs := behaviors(t, s)
	ttl := func(path string) (def, max float64, disabled bool) {
		b := bs[path]
		if b == nil {
			t.Fatalf("no behavior for %s", path)
		}
		if b["CachePolicyId"] == cachingDisabledID {
			return 0, 0, true
		}
		cp := s.json.Resources[refTarget(b["CachePolicyId"])]
		cfg, _ := cp.Properties["CachePolicyConfig"].(map[string]any)
		def, _ = cfg["DefaultTTL"].(float64)
		max, _ = cfg["MaxTTL"].(float64)
		return def, max, false
	}
	for _, path := range []string{"/c/*"} {
		if def, _, off := ttl(path); off || def < 24*3600 {
			t.Errorf("%s: default TTL %v (disabled %v), want at least a day", path, def, off)
		}
	}
	if def, max, off := ttl("/issuers/*"); off || def < 600 || max > 7*24*3600 {
		t.Errorf("/issuers/*: default %v max %v", def, max)
	}
	if def, max, off := ttl("/status/*"); off || def == 0 || max > 600 {
		t.Errorf("/status/*: default %v max %v, want short but cached", def, max)
	}
	for _, path := range []string{"/e", "/api/verify", "/verify", "/healthz"} {
		if _, _, off := ttl(path); !off {
			t.Errorf("%s is cached", path)
		}
	}
	if def, _, off := ttl("*"); off || def > 3600 {
		t.Errorf("default behavior: default TTL %v", def)
	}
	for path, b := range bs {
		vpp := b["ViewerProtocolPolicy"]
		if vpp != "redirect-to-https" && vpp != "https-only" {
			t.Errorf("%s: viewer protocol %v", path, vpp)
		}
		methods := jsonString(b["AllowedMethods"])
		post := strings.Contains(methods, "POST")
		if post != (path == "/e" || path == "/api/verify") {
			t.Errorf("%s: allowed methods %s", path, methods)
		}
		if post && vpp != "https-only" {
			t.Errorf("%s: POST endpoint answers plain HTTP with a redirect", path)
		}
		fa := jsonString(b["FunctionAssociations"])
		if !strings.Contains(fa, `"EventType":"viewer-request"`) {
			t.Errorf("%s: no viewer-request function (%s)", path, fa)
		}
	}
	origins := jsonString(distribution(t, s)["Origins"])
	if !strings.Contains(origins, `"OriginProtocolPolicy":"https-only"`) || !strings.Contains(origins, ".execute-api.") {
		t.Errorf("origin: %s", origins)
	}
}

// CloudFront-Viewer-Country reaches the origin on the beacon path and nowhere else.
func TestViewerCountryOnlyOnTheBeacon(t *testing.T) {
	s := dev(t)
	for path, b := range behaviors(t, s) {
		orp := s.json.Resources[refTarget(b["OriginRequestPolicyId"])]
		if orp.Type != "AWS::CloudFront::OriginRequestPolicy" {
			t.Errorf("%s: origin request policy %v is not one of ours", path, b["OriginRequestPolicyId"])
			continue
		}
		cfg := strings.ToLower(jsonString(orp.Properties))
		if forwarded := strings.Contains(cfg, "cloudfront-viewer-country"); forwarded != (path == "/e") {
			t.Errorf("%s: viewer country forwarded = %v", path, forwarded)
		}
		if !strings.Contains(cfg, "x-forwarded-host") {
			t.Errorf("%s: X-Forwarded-Host not forwarded", path)
		}
		if strings.Contains(cfg, `"headerbehavior":"allviewer`) {
			t.Errorf("%s: forwards all viewer headers", path)
		}
	}
}

func TestCustomDomainAndCertificate(t *testing.T) {
	dc := distribution(t, prod(t))
	if jsonString(dc["Aliases"]) != `["`+testDomain+`"]` {
		t.Errorf("Aliases = %s", jsonString(dc["Aliases"]))
	}
	vc := jsonString(dc["ViewerCertificate"])
	for _, want := range []string{`"AcmCertificateArn":"` + testAccountCert + `"`, `"MinimumProtocolVersion":"TLSv1.2_2021"`, `"SslSupportMethod":"sni-only"`} {
		if !strings.Contains(vc, want) {
			t.Errorf("ViewerCertificate %s lacks %s", vc, want)
		}
	}
	if _, ok := distribution(t, dev(t))["Aliases"]; ok {
		t.Error("dev without a domain has aliases")
	}
}

// The viewer-request function runs in node against sample events, the way CloudFront runs it.
func TestViewerRequestFunctionSetsTheForwardedHost(t *testing.T) {
	if _, err := lookPathNode(); err != nil {
		t.Fatalf("node is needed for the template tests: %v", err)
	}
	for _, tc := range []struct {
		s        *synthesized
		viewer   string
		wantHost string
	}{
		{dev(t), "d111111abcdef8.cloudfront.net", "d111111abcdef8.cloudfront.net"},
		{prod(t), "d111111abcdef8.cloudfront.net", testDomain}, // the canonical host wins
		{prod(t), testDomain, testDomain},
	} {
		var code string
		for _, f := range tc.s.json.ofType("AWS::CloudFront::Function") {
			code, _ = f.Properties["FunctionCode"].(string)
			if cfg, _ := f.Properties["FunctionConfig"].(map[string]any); cfg["Runtime"] != "cloudfront-js-2.0" {
				t.Errorf("runtime %v", cfg["Runtime"])
			}
		}
		got, err := runViewerFunction(code, tc.viewer)
		if err != nil {
			t.Fatalf("%s: %v", tc.s.cfg.Stage, err)
		}
		if got != tc.wantHost {
			t.Errorf("%s viewer %s: x-forwarded-host = %q, want %q", tc.s.cfg.Stage, tc.viewer, got, tc.wantHost)
		}
	}
}

func TestVerifyAndApiMayInvalidateTheDistribution(t *testing.T) {
	s := dev(t)
	dist := ""
	for id := range s.json.ofType("AWS::CloudFront::Distribution") {
		dist = id
	}
	for _, name := range infra.FunctionNames {
		scoped := false
		for _, st := range s.json.rolePolicy(s.json.roleOf(t, name)) {
			if has(st.Action, "cloudfront:CreateInvalidation") {
				scoped = strings.Contains(jsonString(st.Resource), `{"Ref":"`+dist+`"}`)
			}
		}
		if scoped != (name == "api" || name == "verify") {
			t.Errorf("%s: may invalidate the distribution = %v", name, scoped)
		}
	}
	for _, name := range []string{"api", "verify"} {
		_, fn := s.json.function(t, name)
		if refTarget(envOf(fn)["CREDENCE_DISTRIBUTION_ID"]) != dist {
			t.Errorf("%s: CREDENCE_DISTRIBUTION_ID = %s", name, jsonString(envOf(fn)["CREDENCE_DISTRIBUTION_ID"]))
		}
	}
}

// --- SES -------------------------------------------------------------------------------------

func TestSESEventsFlowToTheSESEventsQueue(t *testing.T) {
	s := dev(t)
	dests := s.json.ofType("AWS::SES::ConfigurationSetEventDestination")
	if len(dests) != 1 {
		t.Fatalf("want 1 event destination, got %d", len(dests))
	}
	var topic string
	for _, d := range dests {
		ed, _ := d.Properties["EventDestination"].(map[string]any)
		sns, _ := ed["SnsDestination"].(map[string]any)
		topic = refTarget(sns["TopicARN"])
		types := jsonString(ed["MatchingEventTypes"])
		for _, want := range []string{"delivery", "bounce", "complaint"} {
			if !strings.Contains(types, `"`+want+`"`) {
				t.Errorf("event types %s lack %s", types, want)
			}
		}
		if refTarget(d.Properties["ConfigurationSetName"]) == "" {
			t.Errorf("destination not on our configuration set")
		}
	}
	check(t, "topic -> SES events queue, raw", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol":           "sqs",
			"RawMessageDelivery": true,
			"TopicArn":           map[string]any{"Ref": topic},
			"Endpoint":           map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^SesEventsQueue")), "Arn"}},
		})
	})
	check(t, "SES may publish to the topic", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
			"Topics": []any{map[string]any{"Ref": topic}},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Principal": map[string]any{"Service": "ses.amazonaws.com"},
			})})},
		})
	})
}

// --- Alarms and outputs ----------------------------------------------------------------------

func TestAlarmsOnDLQsErrorsAndThrottles(t *testing.T) {
	for _, s := range []*synthesized{dev(t), prod(t)} {
		alarms := s.json.ofType("AWS::CloudWatch::Alarm")
		topic := ""
		for id := range s.json.ofType("AWS::SNS::Topic") {
			if strings.HasPrefix(id, "AlarmTopic") {
				topic = id
			}
		}
		dlqs := map[string]bool{}
		for id, q := range s.json.ofType("AWS::SQS::Queue") {
			if strings.Contains(id, "DLQ") {
				dlqs[id] = false
				_ = q
			}
		}
		// RosterFailures is drained by the roster function now; its DLQ is what needs a person.
		if len(dlqs) != 4 {
			t.Fatalf("%s: want 4 dead-letter queues (issue, mail, SES events, roster failures), got %v", s.cfg.Stage, dlqs)
		}
		fnAlarms := map[string]bool{}
		for id, a := range alarms {
			p := a.Properties
			if jsonString(p["AlarmActions"]) != `[{"Ref":"`+topic+`"}]` {
				t.Errorf("%s: actions %s", id, jsonString(p["AlarmActions"]))
			}
			dims := jsonString(p["Dimensions"])
			switch p["MetricName"] {
			case "ApproximateNumberOfMessagesVisible":
				if p["Threshold"] != 0.0 || p["ComparisonOperator"] != "GreaterThanThreshold" {
					t.Errorf("%s: DLQ alarm %v %v", id, p["ComparisonOperator"], p["Threshold"])
				}
				for q := range dlqs {
					if strings.Contains(dims, `"GetAtt":["`+q+`","QueueName"]`) || strings.Contains(dims, `["`+q+`","QueueName"]`) {
						dlqs[q] = true
					}
				}
			case "Errors", "Throttles":
				if p["Threshold"] != 1.0 || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
					t.Errorf("%s: %v alarm %v %v", id, p["MetricName"], p["ComparisonOperator"], p["Threshold"])
				}
				for _, name := range infra.FunctionNames {
					fn, _ := s.json.function(t, name)
					if strings.Contains(dims, `{"Ref":"`+fn+`"}`) {
						fnAlarms[name+"/"+fmt.Sprint(p["MetricName"])] = true
					}
				}
			}
		}
		for q, ok := range dlqs {
			if !ok {
				t.Errorf("%s: no alarm on %s", s.cfg.Stage, q)
			}
		}
		// A record waiting in RosterFailures is being handled; only its DLQ needs a person.
		for id, a := range alarms {
			for q := range s.json.ofType("AWS::SQS::Queue") {
				if strings.HasPrefix(q, "RosterFailures") && !strings.Contains(q, "DLQ") &&
					strings.Contains(jsonString(a.Properties["Dimensions"]), `["`+q+`","QueueName"]`) {
					t.Errorf("%s: alarm %s on the drained RosterFailures queue", s.cfg.Stage, id)
				}
			}
		}
		for _, name := range infra.FunctionNames {
			for _, m := range []string{"Errors", "Throttles"} {
				if !fnAlarms[name+"/"+m] {
					t.Errorf("%s: no %s alarm on %s", s.cfg.Stage, m, name)
				}
			}
		}
	}
	check(t, "alarm e-mail", func() {
		prod(t).tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "ops@uni.example",
		})
	})
	check(t, "no alarm e-mail in dev", func() {
		dev(t).tpl.ResourcePropertiesCountIs(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email"}, jsii.Number(0))
	})
}

func TestOutputs(t *testing.T) {
	s := dev(t)
	for _, name := range []string{"ApiUrl", "SiteUrl", "RosterBucketName", "TableName"} {
		if _, ok := s.json.Outputs[name]; !ok {
			t.Errorf("no output %s (have %v)", name, s.json.Outputs)
		}
	}
	site := jsonString(prod(t).json.Outputs["SiteUrl"])
	if !strings.Contains(site, `"https://`+testDomain+`"`) {
		t.Errorf("prod SiteUrl %s", site)
	}
}

// --- Deployability ---------------------------------------------------------------------------

// CloudFormation refuses a template whose resources depend on each other in a circle; CDK
// does not check that within one stack, so this does.
func TestNoDependencyCycle(t *testing.T) {
	for _, s := range []*synthesized{dev(t), prod(t)} {
		if cycle := findCycle(s.json); cycle != nil {
			t.Errorf("%s: dependency cycle %v", s.cfg.Stage, cycle)
		}
	}
}

func TestFindCycleFindsOne(t *testing.T) {
	tm := template{Resources: map[string]resource{
		"A": {Type: "X", Properties: map[string]any{"p": map[string]any{"Ref": "B"}}},
		"B": {Type: "X", Properties: map[string]any{"p": map[string]any{"Fn::Sub": "${C.Arn}/x"}}},
		"C": {Type: "X", DependsOn: []any{"A"}},
		"D": {Type: "X", Properties: map[string]any{"p": map[string]any{"Fn::GetAtt": []any{"A", "Arn"}}}},
	}}
	if c := findCycle(tm); len(c) != 4 {
		t.Fatalf("findCycle = %v, want the A-B-C-A cycle", c)
	}
	delete(tm.Resources, "C")
	if c := findCycle(tm); c != nil {
		t.Fatalf("findCycle = %v on an acyclic template", c)
	}
}
