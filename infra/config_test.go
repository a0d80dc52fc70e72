package infra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests need no node: the configuration is checked before any construct exists.

func validConfig() Config {
	return Config{
		Stage:      StageProd,
		AssetDir:   "dist",
		DomainName: "credentials.uni.example",
		CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/" +
			"0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
		MailFrom:     "badges@uni.example",
		AdminKeyHash: strings.Repeat("ab", 32),
		AlarmEmail:   "ops@uni.example",
	}
}

func TestValidateAcceptsAFullProdConfig(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidateRejectsEachBadParameter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"unknown stage", func(c *Config) { c.Stage = "staging" }, `stage "staging"`},
		{"domain without certificate", func(c *Config) { c.CertificateArn = "" }, "give both"},
		{"certificate without domain", func(c *Config) { c.DomainName = "" }, "give both"},
		{"upper-case domain", func(c *Config) { c.DomainName = "Credentials.Uni.Example" }, "not a lower-case DNS name"},
		{"single-label domain", func(c *Config) { c.DomainName = "localhost" }, "not a lower-case DNS name"},
		{"certificate outside us-east-1", func(c *Config) {
			c.CertificateArn = strings.Replace(c.CertificateArn, "us-east-1", "eu-west-1", 1)
		}, "only accepts certificates from us-east-1"},
		{"not a certificate ARN", func(c *Config) { c.CertificateArn = "arn:aws:iam::123456789012:role/x" }, "not an ACM certificate ARN"},
		{"sender with display name", func(c *Config) { c.MailFrom = "Badges <badges@uni.example>" }, "bare e-mail address"},
		{"sender without domain", func(c *Config) { c.MailFrom = "badges" }, "bare e-mail address"},
		{"admin key instead of its hash", func(c *Config) { c.AdminKeyHash = "my-secret-admin-key" }, "64 lower-case hex"},
		{"upper-case hash", func(c *Config) { c.AdminKeyHash = strings.Repeat("AB", 32) }, "64 lower-case hex"},
		{"bad alarm e-mail", func(c *Config) { c.AlarmEmail = "ops at uni" }, "alarmEmail"},
		{"no asset dir", func(c *Config) { c.AssetDir = "" }, "assetDir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate accepted %+v", c)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestConfigFromContextDefaults(t *testing.T) {
	c, err := ConfigFromContext(func(string) (any, bool) { return nil, false })
	if err != nil {
		t.Fatalf("ConfigFromContext with no context: %v", err)
	}
	if c.Stage != StageDev || c.AssetDir != "dist" || c.MailFrom != PlaceholderMailFrom || c.DomainName != "" || c.AdminKeyHash != "" {
		t.Fatalf("defaults: got %+v", c)
	}
	if c.StackName() != "credence-dev" {
		t.Fatalf("StackName = %q", c.StackName())
	}
}

func TestConfigFromContextReadsEveryKey(t *testing.T) {
	want := validConfig()
	ctx := map[string]any{
		CtxStage: want.Stage, CtxAssetDir: want.AssetDir,
		CtxDomainName:     "Credentials.Uni.Example.", // normalised: lower case, no root dot
		CtxCertificateArn: want.CertificateArn, CtxMailFrom: want.MailFrom,
		CtxAdminKeyHash: want.AdminKeyHash, CtxAlarmEmail: want.AlarmEmail,
	}
	got, err := ConfigFromContext(func(k string) (any, bool) { v, ok := ctx[k]; return v, ok })
	if err != nil {
		t.Fatalf("ConfigFromContext: %v", err)
	}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got.MailDomain() != "uni.example" {
		t.Fatalf("MailDomain = %q", got.MailDomain())
	}
}

func TestConfigFromContextRejectsNonStrings(t *testing.T) {
	_, err := ConfigFromContext(func(k string) (any, bool) {
		if k == CtxStage {
			return 42.0, true
		}
		return nil, false
	})
	if err == nil || !strings.Contains(err.Error(), "context stage: want a string") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckAssetsNamesEveryMissingZipAndTheFix(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api.zip"), []byte("zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "verify.zip"), 0o755); err != nil { // a directory is not a bundle
		t.Fatal(err)
	}
	c := validConfig()
	c.AssetDir = dir
	err := c.CheckAssets()
	if err == nil {
		t.Fatal("CheckAssets accepted a directory with one zip")
	}
	for _, want := range []string{"verify.zip", "roster.zip", "issue.zip", "mail.zip", "make build"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "api.zip") {
		t.Errorf("error %q lists api.zip, which exists", err)
	}
}
