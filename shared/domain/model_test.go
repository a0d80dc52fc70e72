package domain

import (
	"strings"
	"testing"
)

func TestPageSize(t *testing.T) {
	for _, tc := range []struct{ limit, want int }{
		{0, DefaultPageLimit}, {-5, DefaultPageLimit}, {1, 1}, {MaxPageLimit, MaxPageLimit}, {MaxPageLimit + 1, MaxPageLimit},
	} {
		if got := (Page{Limit: tc.limit}).Size(); got != tc.want {
			t.Errorf("Page{Limit: %d}.Size() = %d, want %d", tc.limit, got, tc.want)
		}
	}
}

func TestCheckKeys(t *testing.T) {
	if err := CheckKeys("issuer id", "iss-1", "job id", "j"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pairs []string
		want  string
	}{
		{[]string{"issuer id", "iss-1", "job id", ""}, "job id is empty"},
		{[]string{"issuer id", "a\xffb"}, "issuer id \"a\\xffb\" is not valid UTF-8"},
	} {
		if err := CheckKeys(tc.pairs...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckKeys(%q) = %v, want %q", tc.pairs, err, tc.want)
		}
	}
}
