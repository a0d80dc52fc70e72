package api

import (
	"errors"
	"net/http"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/web"
)

// analytics is GET /v1/issuers/{issuerId}/analytics?from=&to=: the issuer's engagement by day,
// country and achievement. A bad range is the caller's syntax error (400), not a validation
// failure of a resource (422), so the domain's Invalid is reported as 400 here.
func (a *API) analytics(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	q := r.URL.Query()
	for _, name := range []string{"from", "to"} {
		if len(q[name]) > 1 {
			return web.Errorf(http.StatusBadRequest, "invalid_range", "give %s once", name)
		}
	}
	report, err := a.svc.IssuerAnalytics(r.Context(), p, r.PathValue("issuerId"), q.Get("from"), q.Get("to"))
	var de *domain.Error
	if errors.As(err, &de) && de.Kind == domain.KindInvalid {
		pr := &web.Problem{Status: http.StatusBadRequest, Code: de.Code, Message: de.Message}
		for _, f := range de.Fields {
			pr.Details = append(pr.Details, web.Detail{Field: f.Field, Message: f.Message})
		}
		return pr
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	web.WriteJSON(w, http.StatusOK, report)
	return nil
}
