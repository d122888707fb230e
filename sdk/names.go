package sdk

import (
	"fmt"
	"regexp"
)

// platformNameRE is the one form a platform name takes everywhere: in a
// spec's platform field, -p, a PLATFORM:ID reference, a batch file, the
// config, a lock file, a mirror and a plugin's own metadata. A name becomes
// part of a binary's file name (neural-plugin-NAME) and of store paths, so
// the rule leaves no room for separators, dots or upper case.
var platformNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// PlatformNameRule describes the rule in words, for hints.
const PlatformNameRule = "a lower-case word of at most 40 letters, digits and '-', starting with a letter, such as sagemaker"

// ValidPlatformName reports whether name is a well-formed platform name.
func ValidPlatformName(name string) bool { return platformNameRE.MatchString(name) }

// CheckPlatformName returns an invalid-argument *Error naming field when
// name is not a well-formed platform name, and nil when it is.
func CheckPlatformName(field, name string) error {
	if ValidPlatformName(name) {
		return nil
	}
	return FieldError(field, fmt.Sprintf("%q is not a platform name", name), "a platform name is "+PlatformNameRule)
}
