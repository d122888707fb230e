package sdk

import (
	"errors"
	"testing"
)

func TestValidPlatformName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"local", true},
		{"sagemaker", true},
		{"my-cloud2", true},
		{"a", true},
		{"", false},
		{"Local", false},
		{"2cloud", false},
		{"-x", false},
		{"../evil", false},
		{"../../../../proc/self/cwd/tools/evil", false},
		{"a/b", false},
		{"a.b", false},
		{"a_b", false},
		{"a\x00b", false},
		{"abcdefghijabcdefghijabcdefghijabcdefghij", true},
		{"abcdefghijabcdefghijabcdefghijabcdefghijk", false},
	} {
		if got := ValidPlatformName(tc.name); got != tc.want {
			t.Errorf("ValidPlatformName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCheckPlatformName(t *testing.T) {
	err := CheckPlatformName("platform", "../x")
	var e *Error
	if !errors.As(err, &e) || e.Field != "platform" || !errors.Is(err, ErrInvalidArgument) || e.Hint == "" {
		t.Fatalf("CheckPlatformName = %#v, want an invalid-argument error on field platform with a hint", err)
	}
	if err := CheckPlatformName("platform", "vertex"); err != nil {
		t.Fatalf("CheckPlatformName(vertex) = %v", err)
	}
}
