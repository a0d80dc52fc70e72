package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// Signing algorithms the default keys may be used with (ARCHITECTURE: eddsa-rdfc-2022 with
// Ed25519 and MessageType RAW; VC-JWT RS256).
const (
	AlgEd25519 = "ED25519_SHA_512"
	AlgRS256   = "RSASSA_PKCS1_V1_5_SHA_256"
)

// KeyAdminActions is what the account may do to a Credence key: manage it, never use it.
// Listed one by one because a wildcard such as kms:* or kms:Put* would also cover kms:Sign
// or a future action; KMS requires the account to keep kms:PutKeyPolicy so the key cannot be
// locked out.
var KeyAdminActions = []string{
	"kms:DescribeKey",
	"kms:GetKeyPolicy",
	"kms:PutKeyPolicy",
	"kms:ListKeyPolicies",
	"kms:ListResourceTags",
	"kms:TagResource",
	"kms:UntagResource",
	"kms:EnableKey",
	"kms:DisableKey",
	"kms:UpdateKeyDescription",
	"kms:ScheduleKeyDeletion",
	"kms:CancelKeyDeletion",
	"kms:CreateAlias",
	"kms:UpdateAlias",
	"kms:DeleteAlias",
	"kms:ListAliases",
	"kms:ListGrants",
	"kms:RevokeGrant",
}

// SignerTagKey marks the IAM roles that may sign with per-issuer keys; its value is the stack
// name.
const SignerTagKey = "credence:signer"

// keyRef is a signing key made with the L1 construct: the L2 awskms.Key always adds a
// kms:* statement for the account to the key policy, which is exactly what must not be there.
type keyRef struct {
	key awskms.CfnKey
	arn *string
}

// keys creates the default issuer's two keys. Their key policies let the account administer
// them and read the public key (delegated to IAM), and name the api and issue roles as the
// only principals that may Sign, with the one algorithm the key is for.
func (b *builder) keys() {
	signers := []awsiam.IPrincipal{b.fns["api"].Role(), b.fns["issue"].Role()}
	// The per-issuer keys the api creates delegate Sign to IAM principals carrying this tag
	// (docs/deploy.md), so the two signing roles carry it and no other role does.
	for _, fn := range []string{"api", "issue"} {
		awscdk.Tags_Of(b.fns[fn].Role()).Add(jsii.String(SignerTagKey), jsii.String(b.cfg.StackName()), nil)
	}
	pendingDays := 7.0
	if b.cfg.IsProd() {
		pendingDays = 30
	}
	mk := func(id, spec, alg, aliasSuffix, desc string) keyRef {
		policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("AccountAdministersButDoesNotUse"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
				Actions:    jsii.Strings(KeyAdminActions...),
				Resources:  jsii.Strings("*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("AnyoneInTheAccountReadsThePublicKey"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
				Actions:    jsii.Strings("kms:GetPublicKey"),
				Resources:  jsii.Strings("*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("OnlyTheIssuingFunctionsSign"),
				Principals: &signers,
				Actions:    jsii.Strings("kms:Sign"),
				Resources:  jsii.Strings("*"),
				Conditions: &map[string]interface{}{
					"StringEquals": map[string]interface{}{"kms:SigningAlgorithm": alg},
				},
			}),
		}})
		key := awskms.NewCfnKey(b.stack, b.id(id), &awskms.CfnKeyProps{
			Description:         jsii.String(desc + " (" + b.cfg.StackName() + ")"),
			KeySpec:             jsii.String(spec),
			KeyUsage:            jsii.String("SIGN_VERIFY"),
			KeyPolicy:           policy,
			PendingWindowInDays: jsii.Number(pendingDays),
		})
		key.ApplyRemovalPolicy(b.removal, nil)
		awskms.NewCfnAlias(b.stack, b.id(id+"Alias"), &awskms.CfnAliasProps{
			AliasName:   jsii.String("alias/" + b.cfg.StackName() + "/" + aliasSuffix),
			TargetKeyId: key.Ref(),
		})
		return keyRef{key: key, arn: key.AttrArn()}
	}
	b.keyEd25519 = mk("DefaultIssuerEd25519Key", "ECC_NIST_EDWARDS25519", AlgEd25519, "default-ed25519",
		"Credence default issuer, eddsa-rdfc-2022 proofs")
	b.keyRSA = mk("DefaultIssuerRsaKey", "RSA_2048", AlgRS256, "default-rsa",
		"Credence default issuer, VC-JWT RS256")
}

// taggedKeysArn is every KMS key of the account and Region; statements using it carry the
// KeyTagKey condition, which narrows them to this stack's keys.
func (b *builder) taggedKeysArn() *string {
	return b.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("kms"), Resource: jsii.String("key"), ResourceName: jsii.String("*")})
}

func (b *builder) tagCondition() *map[string]interface{} {
	return &map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:ResourceTag/" + KeyTagKey: b.cfg.StackName()},
	}
}

// grantSign lets fn sign with the default keys (the key policy names the role too) and with
// the per-issuer keys of this stack.
func (b *builder) grantSign(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Sign", "kms:GetPublicKey"),
		Resources: &[]*string{b.keyEd25519.arn, b.keyRSA.arn},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("kms:Sign", "kms:GetPublicKey"),
		Resources:  &[]*string{b.taggedKeysArn()},
		Conditions: b.tagCondition(),
	}))
}

// grantPublicKey lets fn read the public keys (DID documents, JWKs), never sign.
func (b *builder) grantPublicKey(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:GetPublicKey"),
		Resources: &[]*string{b.keyEd25519.arn, b.keyRSA.arn},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("kms:GetPublicKey"),
		Resources:  &[]*string{b.taggedKeysArn()},
		Conditions: b.tagCondition(),
	}))
}

// grantCreateIssuerKeys lets the api function create per-issuer signing keys, and only keys
// that are tagged as this stack's, are asymmetric signing keys of the two specs Credence
// uses, and carry no tags other than the stack and issuer tags. The key policy the api passes
// is in docs/deploy.md.
func (b *builder) grantCreateIssuerKeys(fn awslambda.Function) {
	tagKeys := map[string]interface{}{"aws:TagKeys": []string{KeyTagKey, IssuerTagKey}}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:CreateKey"),
		Resources: jsii.Strings("*"), // CreateKey has no resource: the key does not exist yet
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{
				"aws:RequestTag/" + KeyTagKey: b.cfg.StackName(),
				"kms:KeyUsage":                "SIGN_VERIFY",
				"kms:KeySpec":                 []string{"ECC_NIST_EDWARDS25519", "RSA_2048"},
				"kms:KeyOrigin":               "AWS_KMS",
			},
			"Bool":                      map[string]interface{}{"kms:MultiRegion": "false"},
			"ForAllValues:StringEquals": tagKeys,
		},
	}))
	// CreateKey with Tags also needs TagResource on the new key.
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:TagResource"),
		Resources: &[]*string{b.taggedKeysArn()},
		Conditions: &map[string]interface{}{
			"StringEquals":              map[string]interface{}{"aws:RequestTag/" + KeyTagKey: b.cfg.StackName()},
			"ForAllValues:StringEquals": tagKeys,
		},
	}))
}
