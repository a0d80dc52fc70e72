package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/credence-oss/credence/shared/adapters/storetest"
	"github.com/credence-oss/credence/shared/domain"
)

func TestJobsContract(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) domain.JobStore {
		s, err := Open(filepath.Join(t.TempDir(), "credence.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
