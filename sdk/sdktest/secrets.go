package sdktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// minSecretLen is the shortest secret value looked for in errors: a
// shorter one, such as "1", turns up in unrelated text.
const minSecretLen = 4

// secrets checks that no error the plugin returned quotes the value of a
// secret setting. Besides the errors of the whole run, it provokes more:
// each secret setting is set to a marker value, and CheckAuth, Status of a
// missing job and an invalid Submit run with it, the calls whose errors
// most often echo a credential. The resolved settings are restored after.
func (c *checker) secrets(ctx context.Context) (string, error) {
	var keys []string
	for _, f := range c.conn.Metadata().Config {
		if f.Secret {
			keys = append(keys, f.Key)
		}
	}
	if len(keys) == 0 {
		return "the plugin declares no secret setting; no error can quote one", nil
	}
	values := map[string]string{} // value → setting
	for _, k := range keys {
		if v := c.settings[k]; len(v) >= minSecretLen {
			values[v] = k
		}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	marked := sdk.Config{}
	for k, v := range c.settings {
		marked[k] = v
	}
	for _, k := range keys {
		marker := "neural-conformance-secret-" + k + "-" + hex.EncodeToString(b)
		marked[k] = marker
		values[marker] = k
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	provoked := len(c.errs)
	if c.note("Configure(secrets set to markers)", c.conn.Configure(pctx, marked)) == nil {
		_, err := c.conn.CheckAuth(pctx)
		c.note("CheckAuth(secrets set to markers)", err)
		_, err = c.conn.Status(pctx, "neural-conformance-no-such-job")
		c.note("Status(missing job, secrets set to markers)", err)
		bad := c.cfg.LongJob
		bad.Resources.GPUs = -1
		bad.IdempotencyKey = "neural-conformance-invalid-secret"
		_, err = c.conn.Submit(pctx, bad)
		c.note("Submit(resources.gpus=-1, secrets set to markers)", err)
	}
	cancel()
	provoked = len(c.errs) - provoked
	restoreErr := c.note("Configure(resolved settings, restored)", c.conn.Configure(ctx, c.settings))

	var leaks []string
	for _, e := range c.errs {
		text := e.err.Error()
		for v, k := range values {
			if strings.Contains(text, v) {
				leaks = append(leaks, fmt.Sprintf("the error of %s quotes the value of secret setting %q: %s", e.call, k, redact(text, values)))
			}
		}
	}
	if len(leaks) > 0 {
		slices.Sort(leaks)
		return "", fmt.Errorf("%s; errors reach terminals, logs and CI output: leave secret values out of them", strings.Join(slices.Compact(leaks), "; "))
	}
	if restoreErr != nil {
		return "", fmt.Errorf("Configure with the resolved settings failed after the secrets check: %s", redact(restoreErr.Error(), values))
	}
	return fmt.Sprintf("none of %d errors (%d provoked with marker values in %s) quotes a secret setting's value",
		len(c.errs), provoked, strings.Join(keys, ", ")), nil
}

// redact replaces every secret value in text, so that a report of a leak
// does not leak it again.
func redact(text string, values map[string]string) string {
	for v := range values {
		text = strings.ReplaceAll(text, v, "[REDACTED]")
	}
	return text
}
