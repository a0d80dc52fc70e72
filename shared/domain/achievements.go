package domain

import (
	"context"
	"fmt"
	"strings"
)

// AchievementInput creates an achievement (a badge template).
type AchievementInput struct {
	Name            string           `json:"name" validate:"required,max=200"`
	Description     string           `json:"description" validate:"required,max=4000"`
	Criteria        CriteriaInput    `json:"criteria"`
	Image           string           `json:"image,omitempty" validate:"omitempty,http_url,max=2000"`
	AchievementType string           `json:"achievementType,omitempty" validate:"achievementtype"`
	Alignments      []AlignmentInput `json:"alignments,omitempty" validate:"max=50,dive"`
	Skills          []string         `json:"skills,omitempty" validate:"max=50,dive,required,max=100"`
	ValidForDays    int              `json:"validForDays,omitempty" validate:"gte=0,lte=36500"`
	Mail            *MailText        `json:"mail,omitempty"`
}

// CriteriaInput: at least one of narrative and id.
type CriteriaInput struct {
	ID        string `json:"id,omitempty" validate:"omitempty,http_url,max=2000"`
	Narrative string `json:"narrative,omitempty" validate:"max=10000"`
}

// AlignmentInput is one alignment of a request.
type AlignmentInput struct {
	TargetName        string `json:"targetName" validate:"required,max=500"`
	TargetURL         string `json:"targetUrl" validate:"required,http_url,max=2000"`
	TargetDescription string `json:"targetDescription,omitempty" validate:"max=4000"`
	TargetFramework   string `json:"targetFramework,omitempty" validate:"max=500"`
	TargetCode        string `json:"targetCode,omitempty" validate:"max=200"`
	TargetType        string `json:"targetType,omitempty" validate:"omitempty,oneof=ceasn:Competency ceterms:Credential CFItem CFRubric CFRubricCriterion CFRubricCriterionLevel CTDL"`
}

// AchievementPatch changes an achievement; absent fields stay.
type AchievementPatch struct {
	Name            *string           `json:"name,omitempty" validate:"omitempty,min=1,max=200"`
	Description     *string           `json:"description,omitempty" validate:"omitempty,min=1,max=4000"`
	Criteria        *CriteriaInput    `json:"criteria,omitempty"`
	Image           *string           `json:"image,omitempty" validate:"omitempty,http_url,max=2000"`
	AchievementType *string           `json:"achievementType,omitempty" validate:"omitempty,achievementtype"`
	Alignments      *[]AlignmentInput `json:"alignments,omitempty" validate:"omitempty,max=50,dive"`
	Skills          *[]string         `json:"skills,omitempty" validate:"omitempty,max=50,dive,required,max=100"`
	ValidForDays    *int              `json:"validForDays,omitempty" validate:"omitempty,gte=0,lte=36500"`
	Mail            *MailText         `json:"mail,omitempty"`
}

func criteriaOK(c CriteriaInput) error {
	if strings.TrimSpace(c.Narrative) == "" && c.ID == "" {
		return Invalid("validation_failed", "the request has invalid fields",
			FieldError{Field: "criteria", Message: "give a narrative, an id (URL), or both: OB 3.0 requires criteria"})
	}
	if err := check(c); err != nil {
		return err
	}
	return nil
}

func alignments(in []AlignmentInput) []Alignment {
	out := make([]Alignment, 0, len(in))
	for _, a := range in {
		out = append(out, Alignment(a))
	}
	return out
}

// CreateAchievement adds an achievement to an issuer.
func (s *Service) CreateAchievement(ctx context.Context, p Principal, issuerID string, in AchievementInput) (Achievement, error) {
	if _, err := s.GetIssuer(ctx, p, issuerID); err != nil {
		return Achievement{}, err
	}
	if err := check(in); err != nil {
		return Achievement{}, err
	}
	if err := criteriaOK(in.Criteria); err != nil {
		return Achievement{}, err
	}
	now := s.Clock().UTC()
	a := Achievement{
		ID: NewID(), IssuerID: issuerID, Name: strings.TrimSpace(in.Name), Description: in.Description,
		Criteria: Criteria(in.Criteria), Image: in.Image, AchievementType: in.AchievementType,
		Alignments: alignments(in.Alignments), Skills: in.Skills, ValidForDays: in.ValidForDays,
		CreatedAt: now, UpdatedAt: now,
	}
	if a.AchievementType == "" {
		a.AchievementType = "Badge"
	}
	if in.Mail != nil {
		a.Mail = *in.Mail
	}
	if err := s.Store.CreateAchievement(ctx, a); err != nil {
		return Achievement{}, fmt.Errorf("create achievement: %w", err)
	}
	return a, nil
}

// GetAchievement returns one achievement of an issuer the principal can see.
func (s *Service) GetAchievement(ctx context.Context, p Principal, issuerID, id string) (Achievement, error) {
	if !p.CanAccess(issuerID) {
		return Achievement{}, NotFound("achievement")
	}
	a, err := s.Store.GetAchievement(ctx, issuerID, id)
	if err != nil {
		return Achievement{}, storeErr(err, "achievement")
	}
	return a, nil
}

// ListAchievements pages an issuer's achievements.
func (s *Service) ListAchievements(ctx context.Context, p Principal, issuerID string, page Page) ([]Achievement, string, error) {
	if _, err := s.GetIssuer(ctx, p, issuerID); err != nil {
		return nil, "", err
	}
	return s.Store.ListAchievements(ctx, issuerID, page)
}

// UpdateAchievement applies a patch; credentials already issued are unchanged.
func (s *Service) UpdateAchievement(ctx context.Context, p Principal, issuerID, id string, patch AchievementPatch) (Achievement, error) {
	if err := check(patch); err != nil {
		return Achievement{}, err
	}
	a, err := s.GetAchievement(ctx, p, issuerID, id)
	if err != nil {
		return Achievement{}, err
	}
	if patch.Name != nil {
		a.Name = strings.TrimSpace(*patch.Name)
	}
	if patch.Description != nil {
		a.Description = *patch.Description
	}
	if patch.Criteria != nil {
		if err := criteriaOK(*patch.Criteria); err != nil {
			return Achievement{}, err
		}
		a.Criteria = Criteria(*patch.Criteria)
	}
	if patch.Image != nil {
		a.Image = *patch.Image
	}
	if patch.AchievementType != nil {
		a.AchievementType = *patch.AchievementType
	}
	if patch.Alignments != nil {
		a.Alignments = alignments(*patch.Alignments)
	}
	if patch.Skills != nil {
		a.Skills = *patch.Skills
	}
	if patch.ValidForDays != nil {
		a.ValidForDays = *patch.ValidForDays
	}
	if patch.Mail != nil {
		a.Mail = *patch.Mail
	}
	a.UpdatedAt = s.Clock().UTC()
	if err := s.Store.UpdateAchievement(ctx, a); err != nil {
		return Achievement{}, storeErr(err, "achievement")
	}
	return a, nil
}
