// Package statemap holds a plugin's table from its platform's job states
// onto sdk.State, and the reverse lookup a server-side list filter needs
// (the platform values that mean one sdk state).
//
// A table only looks values up: states that depend on more than one
// platform field (a status and a secondary status, a termination code) are
// the plugin's to combine, one table per field. sdk/sdktest.CheckStateTable
// proves a table covers every value of the platform's enum.
package statemap

import (
	"cmp"
	"slices"

	"github.com/neural-dsl/neural-host/sdk"
)

// Table maps a platform's state values onto sdk states. A value mapped to
// sdk.StateUnknown is known to say nothing about the job (an "unspecified"
// enum value); a value the table lacks is one newer than the plugin.
type Table[K cmp.Ordered] struct {
	states map[K]sdk.State
}

// New returns the table of m; m is not used after the call.
func New[K cmp.Ordered](m map[K]sdk.State) Table[K] {
	t := Table[K]{states: make(map[K]sdk.State, len(m))}
	for k, v := range m {
		t.states[k] = v
	}
	return t
}

// State is the sdk state of v, and sdk.StateUnknown for a value the table
// lacks: never a guess.
func (t Table[K]) State(v K) sdk.State {
	if st, ok := t.states[v]; ok {
		return st
	}
	return sdk.StateUnknown
}

// Has reports whether the table maps v.
func (t Table[K]) Has(v K) bool {
	_, ok := t.states[v]
	return ok
}

// Values lists the platform values that map onto any of states, sorted, for
// a filter the platform applies itself. None for an empty states.
func (t Table[K]) Values(states ...sdk.State) []K {
	var out []K
	for k, st := range t.states {
		if slices.Contains(states, st) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Keys lists every value the table maps, sorted.
func (t Table[K]) Keys() []K {
	out := make([]K, 0, len(t.states))
	for k := range t.states {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
