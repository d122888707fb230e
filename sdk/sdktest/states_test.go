package sdktest

import (
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/statemap"
)

// recorder is a testing.TB that keeps failures instead of reporting them.
type recorder struct {
	testing.TB
	errors int
	fatal  bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.errors++ }
func (r *recorder) Fatal(...any)          { r.fatal = true }

func TestCheckStateTable(t *testing.T) {
	table := statemap.New(map[string]sdk.State{"A": sdk.StateRunning, "B": sdk.StateSucceeded})
	tests := []struct {
		name       string
		all        []string
		wantErrors int
		wantFatal  bool
	}{
		{"every value mapped", []string{"A", "B"}, 0, false},
		{"a value missing", []string{"A", "B", "C"}, 1, false},
		{"a stale value", []string{"A"}, 1, false},
		{"no values", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			CheckStateTable(r, table, tt.all)
			if r.errors != tt.wantErrors || r.fatal != tt.wantFatal {
				t.Errorf("got %d errors, fatal %v; want %d, %v", r.errors, r.fatal, tt.wantErrors, tt.wantFatal)
			}
		})
	}
}
