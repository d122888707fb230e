package runner

import (
	"encoding/json"
	"strings"
)

// ParseMetrics reads a job's metrics.json: a JSON object of numbers. Nested
// objects flatten to dotted keys ({"val": {"loss": 1}} is "val.loss") and
// anything that is not a number is skipped.
func ParseMetrics(b []byte) (map[string]float64, error) {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case float64:
			out[prefix] = t
		case map[string]any:
			for k, vv := range t {
				walk(strings.TrimPrefix(prefix+"."+k, "."), vv)
			}
		}
	}
	walk("", raw)
	return out, nil
}
