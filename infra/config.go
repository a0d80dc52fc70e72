// Package infra is the AWS CDK definition of a Credence deployment: one stack per stage with
// the DynamoDB table, the signing keys, the roster bucket, the queues, the five Lambda
// functions, the admin HTTP API, the CloudFront site, SES wiring and alarms.
//
// The stack is described in docs/deploy.md; the names below (context keys, environment
// variables, table keys) are contracts with the functions in functions/*.
package infra

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Stages the stack can be synthesized for. Prod differs in retention and protection only:
// deletion protection, RETAIN removal policies, longer log retention.
const (
	StageDev  = "dev"
	StageProd = "prod"
)

// Context keys read by ConfigFromContext (`cdk synth -c stage=prod ...`, or the Makefile
// variables of the same meaning).
const (
	CtxStage          = "stage"
	CtxDomainName     = "domainName"
	CtxCertificateArn = "certificateArn"
	CtxMailFrom       = "mailFrom"
	CtxAdminKeyHash   = "adminKeyHash"
	CtxAlarmEmail     = "alarmEmail"
	CtxAssetDir       = "assetDir"
)

// FunctionNames are the Lambda entrypoints under functions/ (functions/credence is the CLI,
// not a Lambda). The stack expects <AssetDir>/<name>.zip for each, with `bootstrap` at the
// zip root, as `make build` writes them.
var FunctionNames = []string{"api", "verify", "roster", "issue", "mail"}

// PlaceholderMailFrom is used when no sender is given, so that `make synth` works on a fresh
// clone; `make deploy` refuses to deploy without MAIL_FROM.
const PlaceholderMailFrom = "credentials@example.org"

// Config is everything that varies between two deployments of the stack.
type Config struct {
	// Stage is "dev" or "prod".
	Stage string
	// AssetDir holds the bootstrap zips (default "dist", relative to the working directory).
	AssetDir string
	// DomainName is the optional custom domain of the public site, e.g. credentials.example.edu.
	DomainName string
	// CertificateArn is the ACM certificate (in us-east-1, as CloudFront requires) for DomainName.
	CertificateArn string
	// MailFrom is the sender address; its address or its domain must be a verified SES identity.
	MailFrom string
	// AdminKeyHash is the hex SHA-256 of the bootstrap admin API key (never the key itself).
	AdminKeyHash string
	// AlarmEmail, when set, is subscribed to the alarm topic.
	AlarmEmail string
}

// StackName is the CloudFormation stack name for the stage; it also tags per-issuer KMS keys.
func (c Config) StackName() string { return "credence-" + c.Stage }

// IsProd reports whether the stage gets production protection.
func (c Config) IsProd() bool { return c.Stage == StageProd }

// MailDomain is the domain part of MailFrom.
func (c Config) MailDomain() string {
	at := strings.LastIndexByte(c.MailFrom, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(c.MailFrom[at+1:])
}

// AssetPath is the zip of one function.
func (c Config) AssetPath(function string) string {
	return filepath.Join(c.AssetDir, function+".zip")
}

var (
	hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// A DNS name of at least two labels; CloudFront aliases are lower-case.
	dnsName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	// arn:aws:acm:us-east-1:123456789012:certificate/uuid (any partition).
	acmArn = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f-]+$`)
)

// Validate checks the configuration before any construct is created, so that a mistake is
// reported as one clear sentence instead of a CloudFormation failure twenty minutes later.
func (c Config) Validate() error {
	var errs []error
	switch c.Stage {
	case StageDev, StageProd:
	default:
		errs = append(errs, fmt.Errorf("stage %q: must be %q or %q", c.Stage, StageDev, StageProd))
	}
	if c.AssetDir == "" {
		errs = append(errs, errors.New("assetDir: must not be empty"))
	}
	if (c.DomainName == "") != (c.CertificateArn == "") {
		errs = append(errs, errors.New("domainName and certificateArn: give both (a custom domain needs its ACM certificate) or neither"))
	}
	if c.DomainName != "" && !dnsName.MatchString(c.DomainName) {
		errs = append(errs, fmt.Errorf("domainName %q: not a lower-case DNS name such as credentials.example.edu", c.DomainName))
	}
	if c.CertificateArn != "" {
		m := acmArn.FindStringSubmatch(c.CertificateArn)
		switch {
		case m == nil:
			errs = append(errs, fmt.Errorf("certificateArn %q: not an ACM certificate ARN", c.CertificateArn))
		case m[1] != "us-east-1":
			errs = append(errs, fmt.Errorf("certificateArn %q: is in %s, but CloudFront only accepts certificates from us-east-1", c.CertificateArn, m[1]))
		}
	}
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || a.Address != c.MailFrom || c.MailDomain() == "" {
		errs = append(errs, fmt.Errorf("mailFrom %q: must be a bare e-mail address such as credentials@example.edu", c.MailFrom))
	}
	if c.AdminKeyHash != "" && !hexSHA256.MatchString(c.AdminKeyHash) {
		errs = append(errs, errors.New("adminKeyHash: must be 64 lower-case hex characters (the SHA-256 of the admin key, never the key itself)"))
	}
	if c.AlarmEmail != "" {
		if a, err := mail.ParseAddress(c.AlarmEmail); err != nil || a.Address != c.AlarmEmail {
			errs = append(errs, fmt.Errorf("alarmEmail %q: must be a bare e-mail address", c.AlarmEmail))
		}
	}
	return errors.Join(errs...)
}

// CheckAssets reports every missing function zip at once, pointing at the command that
// builds them.
func (c Config) CheckAssets() error {
	var missing []string
	for _, name := range FunctionNames {
		p := c.AssetPath(name)
		st, err := os.Stat(p)
		if err != nil || st.IsDir() {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("function bundles missing: %s (run `make build` first, or pass -c %s=DIR)", strings.Join(missing, ", "), CtxAssetDir)
	}
	return nil
}

// ContextReader is the part of a construct node ConfigFromContext needs; constructs.Node
// satisfies it through a small adapter (see cmd), and tests can pass a map.
type ContextReader func(key string) (value any, ok bool)

// ConfigFromContext reads the stage parameters from CDK context values, applying defaults
// (stage dev, assets in dist, the placeholder sender), and validates them.
func ConfigFromContext(get ContextReader) (Config, error) {
	str := func(key, def string) (string, error) {
		v, ok := get(key)
		if !ok || v == nil {
			return def, nil
		}
		s, isString := v.(string)
		if !isString {
			return "", fmt.Errorf("context %s: want a string, got %T", key, v)
		}
		if s = strings.TrimSpace(s); s == "" {
			return def, nil
		}
		return s, nil
	}
	var (
		c    Config
		errs []error
	)
	for _, f := range []struct {
		key, def string
		dst      *string
	}{
		{CtxStage, StageDev, &c.Stage},
		{CtxAssetDir, "dist", &c.AssetDir},
		{CtxDomainName, "", &c.DomainName},
		{CtxCertificateArn, "", &c.CertificateArn},
		{CtxMailFrom, PlaceholderMailFrom, &c.MailFrom},
		{CtxAdminKeyHash, "", &c.AdminKeyHash},
		{CtxAlarmEmail, "", &c.AlarmEmail},
	} {
		v, err := str(f.key, f.def)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*f.dst = v
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	c.DomainName = strings.ToLower(strings.TrimSuffix(c.DomainName, "."))
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid stack configuration: %w", err)
	}
	return c, nil
}
