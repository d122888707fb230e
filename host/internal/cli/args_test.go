package cli

import (
	"strings"
	"testing"
)

func TestPermute(t *testing.T) {
	app := newApp("test", Streams{})
	tests := []struct{ in, want string }{
		{"nh job submit spec.yaml -p local -o json --yes", "nh -o json job submit -p local --yes spec.yaml"},
		{"nh -o json job status local:1 local:2", "nh -o json job status local:1 local:2"},
		{"nh job logs local:1 -f --cursor=9", "nh job logs -f --cursor=9 local:1"},
		{"nh job submit spec.yaml -e A=1 -- -p", "nh job submit -e A=1 spec.yaml -- -p"},
		{"nh job wait local:1 --timeout 5s --bogus", "nh job wait --timeout 5s --bogus local:1"},
	}
	for _, tt := range tests {
		got := strings.Join(permute(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("permute(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
