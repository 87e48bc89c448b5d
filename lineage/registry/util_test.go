package registry

import (
	"errors"

	"github.com/baseguard/baseguard/policy"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func policyPatterns(ss ...string) []policy.Pattern { return policy.MustPatterns(ss...) }
