package sdk

import (
	"fmt"
	"time"
)

// Duration reads the duration setting key into dst, leaving dst (its
// default) alone when the setting is empty. A value that does not parse,
// or is shorter than atLeast, is an invalid-argument error naming key;
// atLeast of zero takes any duration that is not negative, and one
// nanosecond any positive one.
func (c Config) Duration(key string, atLeast time.Duration, dst *time.Duration) error {
	v := c[key]
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err == nil && d >= atLeast:
		*dst = d
		return nil
	case atLeast == time.Nanosecond:
		return FieldError(key, fmt.Sprintf("%q is not a positive duration", v), "use a duration such as 30s or 5m")
	case atLeast <= 0:
		return FieldError(key, fmt.Sprintf("%q is not a duration", v), "use a duration such as 30s or 5m")
	}
	return FieldError(key, fmt.Sprintf("%q is not a duration of at least %s", v, atLeast), "use a duration such as 30s or 5m")
}
