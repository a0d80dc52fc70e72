package domain

import (
	"errors"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

func validatorInstance() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		// Report fields by their JSON names, the names the caller sent.
		validate.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			return name
		})
		_ = validate.RegisterValidation("achievementtype", func(fl validator.FieldLevel) bool {
			v := fl.Field().String()
			return v == "" || achievementTypes[v] || strings.HasPrefix(v, "ext:")
		})
	})
	return validate
}

// check validates v and turns violations into an Invalid error listing every field.
func check(v any) error {
	err := validatorInstance().Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return Invalid("invalid_request", err.Error())
	}
	fields := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		path := fe.Namespace()
		if i := strings.IndexByte(path, '.'); i >= 0 {
			path = path[i+1:] // drop the struct's own name
		}
		fields = append(fields, FieldError{Field: path, Message: message(fe)})
	}
	return Invalid("validation_failed", "the request has invalid fields", fields...)
}

func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "required"
	case "email":
		return "must be an e-mail address"
	case "http_url", "url":
		return "must be an absolute http(s) URL"
	case "max":
		return "must be at most " + fe.Param() + " long"
	case "min":
		return "must be at least " + fe.Param()
	case "hexcolor":
		return "must be a colour like #1a5fb4"
	case "achievementtype":
		return "must be an Open Badges 3.0 achievement type (e.g. Badge, Certificate, Course) or ext:<Name>"
	case "gte", "lte":
		return "must be " + fe.Tag() + " " + fe.Param()
	}
	return "is invalid (" + fe.Tag() + ")"
}

// achievementTypes is the OB 3.0 AchievementType enumeration.
var achievementTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`Achievement ApprenticeshipCertificate Assessment Assignment
		AssociateDegree Award Badge BachelorDegree Certificate CertificateOfCompletion Certification
		CommunityService Competency Course CoCurricular Degree Diploma DoctoralDegree Fieldwork
		GeneralEducationDevelopment JourneymanCertificate LearningProgram License Membership
		ProfessionalDoctorate QualityAssuranceCredential MasterCertificate MasterDegree
		MicroCredential ResearchDoctorate SecondarySchoolDiploma`) {
		m[t] = true
	}
	return m
}()
