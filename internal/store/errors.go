package store

import (
	"errors"

	"github.com/cascadehq/cascade/internal/breach"
)

func isDomainNotFound(err error) bool { return errors.Is(err, breach.ErrNotFound) }
