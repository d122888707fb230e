package sdktest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/neural-dsl/neural-host/sdk/statemap"
)

// CheckStateTable fails t for every value of the platform's enum, all, that
// table does not map, and for every value table maps that the enum lacks.
// Pass the values the platform SDK itself lists (such as
// types.TrainingJobStatus("").Values()), so that a new state in an SDK
// upgrade fails the plugin's tests instead of showing as "unknown" to users.
func CheckStateTable[K cmp.Ordered](t testing.TB, table statemap.Table[K], all []K) {
	t.Helper()
	if len(all) == 0 {
		t.Fatal("sdktest: CheckStateTable needs the platform's enum values; none were given")
		return
	}
	for _, v := range all {
		if !table.Has(v) {
			t.Errorf("state table lacks %v: map it onto an sdk.State (sdk.StateUnknown if it says nothing)", v)
		}
	}
	for _, v := range table.Keys() {
		if !slices.Contains(all, v) {
			t.Errorf("state table maps %v, which is not a value of the platform's enum", v)
		}
	}
}
