package domain

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
)

// Mailing holds what sending notification mail needs besides the Service's ports.
type Mailing struct {
	Mailer Mailer
	From   string // e.g. "Credence <badges@example.edu>"
}

// mailData is what the templates see.
type mailData struct {
	Name, Achievement, Issuer, IssuerURL, Color, Logo string
	PageURL, LinkedInURL, BadgeURL, WalletURL         string
	Body                                              string
}

var (
	defaultSubject = "{{.Issuer}} awarded you {{.Achievement}}"
	textTemplate   = texttemplate.Must(texttemplate.New("text").Parse(`Hello {{.Name}},

{{if .Body}}{{.Body}}{{else}}{{.Issuer}} has awarded you "{{.Achievement}}".{{end}}

View and share your credential: {{.PageURL}}
Add it to your LinkedIn profile: {{.LinkedInURL}}
Download the badge (the credential is baked into the image): {{.BadgeURL}}
Keep it in a digital wallet: {{.WalletURL}}

Anyone can check that it is genuine at the first link.
`))
	htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Achievement}}</title></head>
<body style="margin:0;padding:0;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#1f2328">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px">
<table role="presentation" width="560" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px;overflow:hidden">
<tr><td style="background:{{.Color}};padding:20px 24px;color:#ffffff;font-size:18px;font-weight:bold">{{if .Logo}}<img src="{{.Logo}}" alt="{{.Issuer}}" height="32" style="vertical-align:middle;margin-right:8px">{{end}}{{.Issuer}}</td></tr>
<tr><td style="padding:24px;font-size:16px;line-height:1.5">
<p>Hello {{.Name}},</p>
<p>{{if .Body}}{{.Body}}{{else}}{{.Issuer}} has awarded you <strong>{{.Achievement}}</strong>.{{end}}</p>
<p style="text-align:center;margin:28px 0"><a href="{{.PageURL}}" style="background:{{.Color}};color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:bold">View your credential</a></p>
<p><a href="{{.LinkedInURL}}">Add to your LinkedIn profile</a> &middot; <a href="{{.BadgeURL}}">Download the badge</a> &middot; <a href="{{.WalletURL}}">Keep it in a wallet</a></p>
<p style="font-size:13px;color:#57606a">This is a verifiable Open Badges 3.0 credential: anyone can check that it is genuine and current at the link above.</p>
</td></tr></table></td></tr></table></body></html>
`))
)

// RenderMail builds the notification mail of a credential.
func (s *Service) RenderMail(c Credential, iss Issuer, ach Achievement, from string) (Mail, error) {
	page := s.CredentialURL(c.ID)
	color := iss.Branding.PrimaryColor
	if color == "" {
		color = "#1a5fb4"
	}
	d := mailData{
		Name: c.RecipientName, Achievement: ach.Name, Issuer: iss.Name, IssuerURL: iss.URL, Color: color, Logo: iss.Branding.Logo,
		PageURL: page, LinkedInURL: LinkedInAddURL(iss.Name, ach.Name, page, c), BadgeURL: page + ".png", WalletURL: page + "#wallet",
		Body: ach.Mail.Body,
	}
	subjectT := defaultSubject
	if ach.Mail.Subject != "" {
		subjectT = ach.Mail.Subject
	}
	st, err := texttemplate.New("subject").Parse(subjectT)
	if err != nil {
		return Mail{}, fmt.Errorf("mail subject template of achievement %s: %w", ach.ID, err)
	}
	var subj, text, html bytes.Buffer
	if err := st.Execute(&subj, d); err != nil {
		return Mail{}, fmt.Errorf("mail subject: %w", err)
	}
	if err := textTemplate.Execute(&text, d); err != nil {
		return Mail{}, fmt.Errorf("mail text: %w", err)
	}
	if err := htmlTemplate.Execute(&html, d); err != nil {
		return Mail{}, fmt.Errorf("mail html: %w", err)
	}
	return Mail{
		To: c.RecipientEmail, From: from, Subject: strings.TrimSpace(strings.ReplaceAll(subj.String(), "\n", " ")),
		Text: text.String(), HTML: html.String(), ReplyTo: iss.Email,
		Tags: map[string]string{"credential": c.ID, "issuer": c.IssuerID},
	}, nil
}

// LinkedInAddURL is LinkedIn's "Add to profile" link for a certification, pre-filled.
func LinkedInAddURL(org, name, page string, c Credential) string {
	q := url.Values{}
	q.Set("startTask", "CERTIFICATION_NAME")
	q.Set("name", name)
	q.Set("organizationName", org)
	q.Set("issueYear", fmt.Sprint(c.IssuedAt.Year()))
	q.Set("issueMonth", fmt.Sprint(int(c.IssuedAt.Month())))
	if !c.ValidUntil.IsZero() {
		q.Set("expirationYear", fmt.Sprint(c.ValidUntil.Year()))
		q.Set("expirationMonth", fmt.Sprint(int(c.ValidUntil.Month())))
	}
	q.Set("certUrl", page)
	q.Set("certId", c.ID)
	return "https://www.linkedin.com/profile/add?" + q.Encode()
}

// SendMail delivers the notification of one credential; it is the mail queue's consumer.
// Idempotent: a credential whose mail was already sent is not mailed twice unless resend.
func (s *Service) SendMail(ctx context.Context, m Mailing, msg MailMessage) error {
	c, err := s.Store.GetCredential(ctx, msg.CredentialID)
	if err != nil {
		return fmt.Errorf("mail %s: %w", msg.CredentialID, err)
	}
	if !msg.Resend && c.Mail.State == MailSent {
		return nil
	}
	if c.Mail.State == MailBounced || c.Mail.State == MailComplained || c.Mail.State == MailSuppressed {
		s.log(ctx).Info("mail suppressed", "credentialId", c.ID, "state", c.Mail.State)
		return nil
	}
	iss, err := s.Store.GetIssuer(ctx, c.IssuerID)
	if err != nil {
		return fmt.Errorf("mail %s: issuer: %w", c.ID, err)
	}
	ach, err := s.Store.GetAchievement(ctx, c.IssuerID, c.AchievementID)
	if err != nil {
		return fmt.Errorf("mail %s: achievement: %w", c.ID, err)
	}
	mail, err := s.RenderMail(c, iss, ach, m.From)
	if err != nil {
		return err
	}
	id, err := m.Mailer.Send(ctx, mail)
	if err != nil {
		return fmt.Errorf("mail %s: send: %w", c.ID, err)
	}
	return s.Store.UpdateCredentialMail(ctx, c.ID, MailState{State: MailSent, MessageID: id, At: s.Clock().UTC()})
}
