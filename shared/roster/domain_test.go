package roster

import "github.com/credence-oss/credence/shared/domain"

type (
	domainRow      = domain.RosterRow
	domainRowError = domain.RowError
)
