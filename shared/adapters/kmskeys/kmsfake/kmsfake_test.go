package kmsfake

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/credence-oss/credence/shared/adapters/awstest"
)

// The stand-in is only worth testing against if it refuses what the real service refuses; these
// tests drive it with the plain SDK client and check that it does.

func client(t *testing.T) (*kms.Client, *Server) {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return kms.NewFromConfig(awstest.Config(t, s.URL), func(o *kms.Options) { o.Retryer = aws.NopRetryer{} }), s
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func createKey(t *testing.T, c *kms.Client) string {
	t.Helper()
	out, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistEdwards25519, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

func TestRoundTripWithPlainSDK(t *testing.T) {
	c, _ := client(t)
	ctx := t.Context()
	arn := createKey(t, c)
	msg := []byte("proof hash || document hash")
	sig, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(arn), Message: msg,
		MessageType: types.MessageTypeRaw, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	pk, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetPublicKey: %v", err)
	}
	if pk.KeySpec != types.KeySpecEccNistEdwards25519 || pk.KeyUsage != types.KeyUsageTypeSignVerify {
		t.Fatalf("GetPublicKey: spec %s usage %s", pk.KeySpec, pk.KeyUsage)
	}
	pub, err := x509.ParsePKIXPublicKey(pk.PublicKey)
	if err != nil {
		t.Fatalf("public key DER: %v", err)
	}
	if !ed25519.Verify(pub.(ed25519.PublicKey), msg, sig.Signature) {
		t.Fatal("signature does not verify")
	}
	// The bare key id names the same key as the ARN.
	id := arn[strings.LastIndex(arn, "/")+1:]
	pk2, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(id)})
	if err != nil || !bytes.Equal(pk2.PublicKey, pk.PublicKey) {
		t.Fatalf("GetPublicKey by key id: %v", err)
	}
}

func TestRefusesWhatKMSRefuses(t *testing.T) {
	c, _ := client(t)
	ctx := t.Context()
	arn := createKey(t, c)
	msg := []byte("m")

	_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistEdwards25519})
	wantCode(t, err, "ValidationException") // asymmetric keys need a KeyUsage
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistEdwards25519, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	wantCode(t, err, "ValidationException")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	wantCode(t, err, "UnsupportedOperationException") // RSA belongs to local-kms
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistEdwards25519, KeyUsage: types.KeyUsageTypeSignVerify,
		Tags: []types.Tag{{TagKey: aws.String("aws:reserved"), TagValue: aws.String("x")}}})
	wantCode(t, err, "TagException")

	_, err = c.Sign(ctx, &kms.SignInput{KeyId: aws.String(arn), Message: msg,
		MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512})
	wantCode(t, err, "ValidationException") // pure Ed25519 signs the message, not a digest
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: aws.String(arn), Message: msg,
		MessageType: types.MessageTypeRaw, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantCode(t, err, "InvalidKeyUsageException")
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: aws.String(arn), Message: make([]byte, 4097),
		MessageType: types.MessageTypeRaw, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512})
	wantCode(t, err, "ValidationException")
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: aws.String("arn:aws:kms:us-east-1:111122223333:key/nope"), Message: msg,
		MessageType: types.MessageTypeRaw, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512})
	wantCode(t, err, "NotFoundException")
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("NotFoundException is not decoded as the SDK's typed error: %T", err)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: msg})
	wantCode(t, err, "UnsupportedOperationException")
}

func TestRefusesUnsignedAndForeignRequests(t *testing.T) {
	s := New()
	defer s.Close()
	post := func(target, contentType string, signed bool) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/", strings.NewReader(`{}`))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", contentType)
		if signed {
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post("TrentService.GetPublicKey", "application/x-amz-json-1.1", false); got != http.StatusBadRequest {
		t.Fatalf("unsigned request: HTTP %d", got)
	}
	if got := post("DynamoDB_20120810.ListTables", "application/x-amz-json-1.1", true); got != http.StatusBadRequest {
		t.Fatalf("foreign target: HTTP %d", got)
	}
	if got := post("TrentService.GetPublicKey", "application/json", true); got != http.StatusBadRequest {
		t.Fatalf("wrong content type: HTTP %d", got)
	}
	if s.Calls("GetPublicKey") != 0 {
		t.Fatal("refused requests were counted as calls")
	}
}

func TestFailNext(t *testing.T) {
	c, s := client(t)
	s.ThrottleNext(1)
	_, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistEdwards25519, KeyUsage: types.KeyUsageTypeSignVerify})
	wantCode(t, err, "ThrottlingException")
	createKey(t, c) // the failure was used up
	if s.Calls("CreateKey") != 2 {
		t.Fatalf("CreateKey calls %d, want 2", s.Calls("CreateKey"))
	}
}
