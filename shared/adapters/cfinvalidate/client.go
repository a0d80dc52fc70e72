package cfinvalidate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client is CloudFront's CreateInvalidation over its REST-XML API, signed with SigV4. It
// replaces the SDK's cloudfront package for this one call: that client keeps about 5 MB of
// code in every Lambda binary (html/template's reflection makes the linker keep all exported
// methods of the client, some 100 operations), which alone broke the 20 MB binary budget.
type Client struct {
	// Endpoint is CloudFront's API endpoint; the default is the global one (tests set a local
	// stand-in).
	Endpoint    string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
	// Attempts bounds tries of throttled or failed (5xx) calls; 3 unless set.
	Attempts int
	signer   *v4.Signer
}

// apiVersion is the CloudFront API version of the request path and XML namespace.
const apiVersion = "2020-05-31"

// NewClient returns a client using the credentials and endpoint override of cfg. CloudFront
// is a global service signed in us-east-1 whatever cfg's region.
func NewClient(cfg aws.Config) *Client {
	c := &Client{Endpoint: "https://cloudfront.amazonaws.com", Credentials: cfg.Credentials, HTTP: http.DefaultClient, signer: v4.NewSigner()}
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		c.Endpoint = *cfg.BaseEndpoint
	}
	if hc, ok := cfg.HTTPClient.(*http.Client); ok && hc != nil {
		c.HTTP = hc
	}
	return c
}

type invalidationBatch struct {
	XMLName         xml.Name `xml:"InvalidationBatch"`
	Xmlns           string   `xml:"xmlns,attr"`
	Paths           xmlPaths `xml:"Paths"`
	CallerReference string   `xml:"CallerReference"`
}

type xmlPaths struct {
	Quantity int      `xml:"Quantity"`
	Items    []string `xml:"Items>Path"`
}

type invalidation struct {
	ID     string `xml:"Id"`
	Status string `xml:"Status"`
}

type errorResponse struct {
	Type      string `xml:"Error>Type"`
	Code      string `xml:"Error>Code"`
	Message   string `xml:"Error>Message"`
	RequestID string `xml:"RequestId"`
}

// APIError is an error answer of CloudFront.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("CloudFront %d %s: %s (request %s)", e.Status, e.Code, e.Message, e.RequestID)
}

// retryable: throttling and server-side failures; a refused request (4xx) is final.
func (e *APIError) retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Code == "Throttling" || e.Code == "ServiceUnavailable"
}

// CreateInvalidation asks CloudFront to invalidate paths of a distribution and returns the
// invalidation's id.
func (c *Client) CreateInvalidation(ctx context.Context, distributionID, callerReference string, paths []string) (string, error) {
	if c.Credentials == nil {
		return "", errors.New("no AWS credentials")
	}
	body, err := xml.Marshal(invalidationBatch{
		Xmlns:           "http://cloudfront.amazonaws.com/doc/" + apiVersion + "/",
		Paths:           xmlPaths{Quantity: len(paths), Items: paths},
		CallerReference: callerReference,
	})
	if err != nil {
		return "", fmt.Errorf("encode invalidation batch: %w", err)
	}
	body = append([]byte(xml.Header), body...)
	target := strings.TrimRight(c.Endpoint, "/") + "/" + apiVersion + "/distribution/" + url.PathEscape(distributionID) + "/invalidation"
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	for try := 1; ; try++ {
		id, err := c.send(ctx, target, body)
		var apiErr *APIError
		if err == nil || try >= attempts || (errors.As(err, &apiErr) && !apiErr.retryable()) {
			return id, err
		}
		// A CallerReference sent again with the same paths is the same invalidation to
		// CloudFront, so a retry after a lost answer cannot start a second one.
		select {
		case <-ctx.Done():
			return "", errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(try*try) * 200 * time.Millisecond):
		}
	}
}

func (c *Client) send(ctx context.Context, target string, body []byte) (string, error) {
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("retrieve credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml")
	sum := sha256.Sum256(body)
	signer := c.signer
	if signer == nil { // a Client built without NewClient
		signer = v4.NewSigner()
	}
	if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "cloudfront", "us-east-1", time.Now().UTC()); err != nil {
		return "", fmt.Errorf("sign request: %w", err)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("send: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	if res.StatusCode/100 != 2 {
		var e errorResponse
		if xml.Unmarshal(raw, &e) != nil || e.Code == "" {
			e.Code, e.Message = strconv.Itoa(res.StatusCode), strings.TrimSpace(string(raw))
		}
		return "", &APIError{Status: res.StatusCode, Code: e.Code, Message: e.Message, RequestID: e.RequestID}
	}
	var inv invalidation
	if err := xml.Unmarshal(raw, &inv); err != nil {
		return "", fmt.Errorf("decode answer: %w", err)
	}
	if inv.ID == "" {
		return "", errors.New("CloudFront answered without an invalidation id")
	}
	return inv.ID, nil
}
