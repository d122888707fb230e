package statemap

import (
	"reflect"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestTable(t *testing.T) {
	table := New(map[string]sdk.State{
		"PENDING": sdk.StateQueued, "QUEUED": sdk.StateQueued, "RUNNING": sdk.StateRunning,
		"DONE": sdk.StateSucceeded, "UNSPECIFIED": sdk.StateUnknown,
	})
	states := []struct {
		value string
		want  sdk.State
		has   bool
	}{
		{"QUEUED", sdk.StateQueued, true},
		{"DONE", sdk.StateSucceeded, true},
		{"UNSPECIFIED", sdk.StateUnknown, true},
		{"NEWER_THAN_THE_PLUGIN", sdk.StateUnknown, false},
	}
	for _, tt := range states {
		if got := table.State(tt.value); got != tt.want {
			t.Errorf("State(%q) = %q, want %q", tt.value, got, tt.want)
		}
		if got := table.Has(tt.value); got != tt.has {
			t.Errorf("Has(%q) = %v, want %v", tt.value, got, tt.has)
		}
	}
	values := []struct {
		states []sdk.State
		want   []string
	}{
		{[]sdk.State{sdk.StateQueued}, []string{"PENDING", "QUEUED"}},
		{[]sdk.State{sdk.StateRunning, sdk.StateSucceeded}, []string{"DONE", "RUNNING"}},
		{[]sdk.State{sdk.StateFailed}, nil},
		{nil, nil},
	}
	for _, tt := range values {
		if got := table.Values(tt.states...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Values(%v) = %q, want %q", tt.states, got, tt.want)
		}
	}
	if got, want := table.Keys(), []string{"DONE", "PENDING", "QUEUED", "RUNNING", "UNSPECIFIED"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Keys = %q, want %q", got, want)
	}
}

func TestNewCopies(t *testing.T) {
	m := map[int]sdk.State{1: sdk.StateRunning}
	table := New(m)
	m[1] = sdk.StateFailed
	if got := table.State(1); got != sdk.StateRunning {
		t.Errorf("State(1) = %q after the map changed, want %q", got, sdk.StateRunning)
	}
}
