package infra

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/jsii-runtime-go"
)

// Cache lifetimes of the public site, in seconds. The origin may ask for less with
// Cache-Control (the minimum is 0 everywhere); the maximum bounds how stale an entry can get
// if an invalidation is lost.
const (
	// Credential pages and downloads do not change except on revocation/suspension, which
	// invalidates /c/{id}*.
	CredentialDefaultTTL = 24 * 3600
	CredentialMaxTTL     = 365 * 24 * 3600
	// Issuer profiles and DID documents change rarely (a key added, branding edited).
	IssuerDefaultTTL = 3600
	IssuerMaxTTL     = 24 * 3600
	// Status lists carry revocations: verifiers must see them within minutes even if the
	// invalidation after a status change were lost.
	StatusDefaultTTL = 300
	StatusMaxTTL     = 300
	// Everything else (home page, verify page assets).
	PagesDefaultTTL = 300
	PagesMaxTTL     = 24 * 3600
)

// Headers the origin sees. Host cannot be forwarded to an API Gateway origin (it routes on
// it), so the viewer-request function copies the public host into X-Forwarded-Host.
const (
	HeaderForwardedHost = "x-forwarded-host"
	HeaderViewerCountry = "cloudfront-viewer-country"
)

// viewerRequestCode is the CloudFront Function on every behavior. With a custom domain the
// public host is that domain whatever name the viewer used, so cached pages and did:web
// identifiers never mention the *.cloudfront.net name; without one it is the viewer's Host.
func viewerRequestCode(customDomain string) string {
	canonical, _ := json.Marshal(customDomain) // a JSON string is a valid JS string literal
	return fmt.Sprintf(`var CANONICAL_HOST = %s;
function handler(event) {
  var request = event.request;
  var host = CANONICAL_HOST;
  if (!host) {
    host = request.headers.host ? request.headers.host.value : event.context.distributionDomainName;
  }
  request.headers[%q] = { value: host };
  return request;
}
`, canonical, HeaderForwardedHost)
}

// site is the public site: a second HTTP API in front of the verify function, and CloudFront
// in front of that.
//
// Why not a Lambda Function URL with Origin Access Control: with OAC, CloudFront signs the
// origin request, and Lambda rejects POST bodies whose SHA-256 the viewer did not send in
// x-amz-content-sha256, which would break POST /api/verify for ordinary clients and the
// beacon sent with navigator.sendBeacon. An HTTP API origin takes any POST, adds its own
// throttling, costs $1 per million cache misses, and — because the distribution then
// depends only on the API, not on the function — lets the verify function get
// CREDENCE_DISTRIBUTION_ID and CREDENCE_BASE_URL as plain environment variables without a
// dependency cycle.
func (b *builder) site() {
	b.siteAPI = awsapigatewayv2.NewHttpApi(b.stack, b.id("SiteOriginApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(b.cfg.StackName() + "-site-origin"),
		Description:        jsii.String("Credence public site origin (behind CloudFront)"),
		CreateDefaultStage: jsii.Bool(false),
		DefaultIntegration: awsapigatewayv2integrations.NewHttpLambdaIntegration(b.id("SiteIntegration"), b.fns["verify"],
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			}),
	})
	// Only cache misses reach this: 200/s (burst 400) keeps a flood of uncached verification
	// requests from taking all of the account's Lambda concurrency.
	b.siteAPI.AddStage(b.id("SiteOriginStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(200), BurstLimit: jsii.Number(400)},
	})
	originDomain := awscdk.Fn_Join(jsii.String(""), &[]*string{
		b.siteAPI.ApiId(), jsii.String(".execute-api."), b.stack.Region(), jsii.String("."), b.stack.UrlSuffix(),
	})
	origin := awscloudfrontorigins.NewHttpOrigin(originDomain, &awscloudfrontorigins.HttpOriginProps{
		ProtocolPolicy:     awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
		OriginSslProtocols: &[]awscloudfront.OriginSslPolicy{awscloudfront.OriginSslPolicy_TLS_V1_2},
		ReadTimeout:        awscdk.Duration_Seconds(jsii.Number(30)),
	})

	cache := func(id, comment string, defTTL, maxTTL float64, headers awscloudfront.CacheHeaderBehavior) awscloudfront.CachePolicy {
		return awscloudfront.NewCachePolicy(b.stack, b.id(id), &awscloudfront.CachePolicyProps{
			Comment:                    jsii.String(comment),
			DefaultTtl:                 awscdk.Duration_Seconds(jsii.Number(defTTL)),
			MaxTtl:                     awscdk.Duration_Seconds(jsii.Number(maxTTL)),
			MinTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
			HeaderBehavior:             headers,
			QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_None(),
			CookieBehavior:             awscloudfront.CacheCookieBehavior_None(),
			EnableAcceptEncodingGzip:   jsii.Bool(true),
			EnableAcceptEncodingBrotli: jsii.Bool(true),
		})
	}
	credentialCache := cache("CredentialCachePolicy", "credential pages and downloads: long, invalidated on status change",
		CredentialDefaultTTL, CredentialMaxTTL, awscloudfront.CacheHeaderBehavior_None())
	// /issuers/{id} answers HTML or JSON by Accept, so Accept is part of the key.
	issuerCache := cache("IssuerCachePolicy", "issuer profiles and DID documents: medium",
		IssuerDefaultTTL, IssuerMaxTTL, awscloudfront.CacheHeaderBehavior_AllowList(jsii.String("accept")))
	statusCache := cache("StatusListCachePolicy", "status lists: short",
		StatusDefaultTTL, StatusMaxTTL, awscloudfront.CacheHeaderBehavior_None())
	pagesCache := cache("PagesCachePolicy", "other pages: short",
		PagesDefaultTTL, PagesMaxTTL, awscloudfront.CacheHeaderBehavior_None())

	orp := func(id, comment string, qs awscloudfront.OriginRequestQueryStringBehavior, headers ...string) awscloudfront.OriginRequestPolicy {
		return awscloudfront.NewOriginRequestPolicy(b.stack, b.id(id), &awscloudfront.OriginRequestPolicyProps{
			Comment:             jsii.String(comment),
			HeaderBehavior:      awscloudfront.OriginRequestHeaderBehavior_AllowList(*jsii.Strings(headers...)...),
			QueryStringBehavior: qs,
			CookieBehavior:      awscloudfront.OriginRequestCookieBehavior_None(),
		})
	}
	cachedOrp := orp("CachedOriginRequestPolicy", "cached pages: only the public host",
		awscloudfront.OriginRequestQueryStringBehavior_None(), HeaderForwardedHost)
	dynamicOrp := orp("DynamicOriginRequestPolicy", "verification: host, body type, query",
		awscloudfront.OriginRequestQueryStringBehavior_All(), HeaderForwardedHost, "content-type", "accept")
	// The beacon is the only place that records where a credential is viewed from.
	beaconOrp := orp("BeaconOriginRequestPolicy", "engagement beacon: host, body type, viewer country",
		awscloudfront.OriginRequestQueryStringBehavior_None(), HeaderForwardedHost, "content-type", HeaderViewerCountry)

	viewerFn := awscloudfront.NewFunction(b.stack, b.id("ViewerRequestFunction"), &awscloudfront.FunctionProps{
		Comment: jsii.String("copies the public host into X-Forwarded-Host"),
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(viewerRequestCode(b.cfg.DomainName))),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
	})
	headers := awscloudfront.NewResponseHeadersPolicy(b.stack, b.id("SecurityHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment: jsii.String("HSTS, nosniff, referrer policy"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			// No includeSubdomains: the custom domain is usually one name inside an
			// institution's zone, whose other hosts are not ours to constrain.
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(730)), Override: jsii.Bool(true),
			},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN, Override: jsii.Bool(false),
			},
		},
	})
	fnAssoc := &[]*awscloudfront.FunctionAssociation{{
		EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST, Function: viewerFn,
	}}
	// GET pages redirect plain HTTP to HTTPS (people type addresses); POST endpoints refuse
	// it, since a redirect would drop the body. Nothing is ever served over HTTP.
	behavior := func(policy awscloudfront.ICachePolicy, req awscloudfront.IOriginRequestPolicy, post bool) *awscloudfront.AddBehaviorOptions {
		o := &awscloudfront.AddBehaviorOptions{
			CachePolicy:           policy,
			OriginRequestPolicy:   req,
			ResponseHeadersPolicy: headers,
			FunctionAssociations:  fnAssoc,
			Compress:              jsii.Bool(true),
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
		}
		if post {
			o.AllowedMethods = awscloudfront.AllowedMethods_ALLOW_ALL()
			o.ViewerProtocolPolicy = awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY
		}
		return o
	}
	def := behavior(pagesCache, cachedOrp, false)
	props := &awscloudfront.DistributionProps{
		Comment: jsii.String(b.cfg.StackName() + " public site"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin: origin, CachePolicy: def.CachePolicy, OriginRequestPolicy: def.OriginRequestPolicy,
			ResponseHeadersPolicy: def.ResponseHeadersPolicy, FunctionAssociations: def.FunctionAssociations,
			Compress: def.Compress, AllowedMethods: def.AllowedMethods, ViewerProtocolPolicy: def.ViewerProtocolPolicy,
		},
		HttpVersion: awscloudfront.HttpVersion_HTTP2_AND_3,
		EnableIpv6:  jsii.Bool(true),
		// Verifiers are anywhere in the world in prod; dev is tested from one place.
		PriceClass: awscloudfront.PriceClass_PRICE_CLASS_ALL,
	}
	if !b.cfg.IsProd() {
		props.PriceClass = awscloudfront.PriceClass_PRICE_CLASS_100
	}
	if b.cfg.DomainName != "" {
		props.DomainNames = jsii.Strings(b.cfg.DomainName)
		props.Certificate = awscertificatemanager.Certificate_FromCertificateArn(b.stack, b.id("SiteCertificate"), jsii.String(b.cfg.CertificateArn))
		props.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
		props.SslSupportMethod = awscloudfront.SSLMethod_SNI
	}
	b.dist = awscloudfront.NewDistribution(b.stack, b.id("Site"), props)
	// Added one by one, in this order, so the template is the same on every synth (a Go map
	// would shuffle the behaviors and make every deploy update the distribution).
	for _, add := range []struct {
		path string
		opts *awscloudfront.AddBehaviorOptions
	}{
		{"/c/*", behavior(credentialCache, cachedOrp, false)},
		{"/issuers/*", behavior(issuerCache, cachedOrp, false)},
		{"/status/*", behavior(statusCache, cachedOrp, false)},
		{"/verify", behavior(awscloudfront.CachePolicy_CACHING_DISABLED(), dynamicOrp, false)},
		{"/api/verify", behavior(awscloudfront.CachePolicy_CACHING_DISABLED(), dynamicOrp, true)},
		{"/e", behavior(awscloudfront.CachePolicy_CACHING_DISABLED(), beaconOrp, true)},
		{"/healthz", behavior(awscloudfront.CachePolicy_CACHING_DISABLED(), dynamicOrp, false)},
	} {
		b.dist.AddBehavior(jsii.String(add.path), origin, add.opts)
	}

	if b.cfg.DomainName != "" {
		b.siteDomain = jsii.String(b.cfg.DomainName)
	} else {
		b.siteDomain = b.dist.DistributionDomainName()
	}
	b.baseURL = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), b.siteDomain})
}
