// Package cfinvalidate is the CloudFront implementation of domain.Invalidator: a status change
// drops the cached copies of the credential's page and documents (and of the status list) at
// the edge, so a revoked credential is not shown as valid from a cache.
//
// Each Invalidate is one CreateInvalidation with a CallerReference unique to the call (CloudFront
// treats a repeated reference with the same paths as the same request, and refuses it with other
// paths). Limits worth knowing: at most 3,000 paths and 15 wildcard paths may be in progress per
// distribution, and paths beyond the first 1,000 a month are billed, a wildcard counting as one.
// A mass revocation can hit TooManyInvalidationsInProgress; the domain logs the failure and the
// pages' own short browser lifetime and CDN lifetime bound how long a stale copy lives.
package cfinvalidate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credence-oss/credence/shared/domain"
)

// EnvDistributionID names the variable that holds the distribution to invalidate.
const EnvDistributionID = "CREDENCE_DISTRIBUTION_ID"

// MaxPaths is the most paths one invalidation may name (CloudFront's in-progress limit).
const MaxPaths = 3000

// API is the CloudFront call the invalidator makes (Client).
type API interface {
	CreateInvalidation(ctx context.Context, distributionID, callerReference string, paths []string) (invalidationID string, err error)
}

// Invalidator invalidates paths of one CloudFront distribution.
type Invalidator struct {
	api            API
	distributionID string
}

var _ domain.Invalidator = (*Invalidator)(nil)

// New returns an Invalidator of distributionID.
func New(api API, distributionID string) *Invalidator {
	return &Invalidator{api: api, distributionID: distributionID}
}

// FromConfig returns the CloudFront Invalidator of the distribution named by
// CREDENCE_DISTRIBUTION_ID (getenv is os.Getenv), or domain.NopInvalidator when it is unset (a
// deployment without a CDN in front).
func FromConfig(cfg aws.Config, getenv func(string) string) domain.Invalidator {
	id := strings.TrimSpace(getenv(EnvDistributionID))
	if id == "" {
		return domain.NopInvalidator{}
	}
	return New(NewClient(cfg), id)
}

// Invalidate asks CloudFront to drop paths (each starting with '/'; '*' only as the last
// character). Duplicates are sent once.
func (i *Invalidator) Invalidate(ctx context.Context, paths ...string) error {
	if i.distributionID == "" {
		return errors.New("cfinvalidate: no distribution id")
	}
	seen := map[string]bool{}
	var items []string
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return err
		}
		if !seen[p] {
			seen[p] = true
			items = append(items, p)
		}
	}
	if len(items) == 0 {
		return nil
	}
	if len(items) > MaxPaths {
		return fmt.Errorf("cfinvalidate: %d paths in one invalidation (at most %d)", len(items), MaxPaths)
	}
	ref, err := callerReference()
	if err != nil {
		return err
	}
	if _, err := i.api.CreateInvalidation(ctx, i.distributionID, ref, items); err != nil {
		return fmt.Errorf("cfinvalidate: invalidate %d path(s) of %s: %w", len(items), i.distributionID, err)
	}
	return nil
}

func checkPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("cfinvalidate: path %q does not start with /", p)
	case strings.Contains(strings.TrimSuffix(p, "*"), "*"):
		return fmt.Errorf("cfinvalidate: path %q has a wildcard before its end", p)
	case len(p) > 4000 || strings.ContainsAny(p, " \t\r\n"):
		return fmt.Errorf("cfinvalidate: path %q is not a URL path CloudFront accepts", p)
	}
	return nil
}

// callerReference is unique per call: the time for a reader of the CloudFront console, and
// random bits so that two calls in the same nanosecond (or two Lambdas) never share one.
func callerReference() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cfinvalidate: caller reference: %w", err)
	}
	return "credence-" + strconv.FormatInt(time.Now().UTC().UnixNano(), 10) + "-" + hex.EncodeToString(b[:]), nil
}
