package sdktest

import (
	"context"
	"fmt"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// jobStates checks that the plugin's listing reports the submitted job
// with the state Status reports, before or after it, and leaves out an id
// it does not know. With mustList false the job may be left out.
func (c *checker) jobStates(ctx context.Context, spec sdk.JobSpec, submitted sdk.JobStatus, mustList bool) error {
	const ghost = "neural-conformance-no-such-job"
	before, err := c.conn.Status(ctx, submitted.ID)
	if err != nil {
		return err
	}
	req := sdk.JobStatesRequest{IDs: []string{submitted.ID, ghost}, Labels: spec.Labels}
	if !before.CreatedAt.IsZero() {
		req.CreatedAfter = before.CreatedAt.Add(-10 * time.Minute)
	}
	var listed []sdk.JobStatus
	for page := 0; ; page++ {
		if page == lookupPages {
			return fmt.Errorf("JobStates did not finish listing within %d pages", lookupPages)
		}
		resp, err := c.conn.JobStates(ctx, req)
		if err != nil {
			return fmt.Errorf("JobStates failed: %w", err)
		}
		listed = append(listed, resp.Jobs...)
		if resp.NextPageToken == "" {
			break
		}
		req.PageToken = resp.NextPageToken
	}
	after, err := c.conn.Status(ctx, submitted.ID)
	if err != nil {
		return err
	}
	var found *sdk.JobStatus
	for i, st := range listed {
		switch st.ID {
		case ghost:
			return fmt.Errorf("JobStates listed %q, an id the platform does not have", ghost)
		case submitted.ID:
			found = &listed[i]
		}
	}
	switch {
	case found == nil && !mustList:
		return nil
	case found == nil:
		return fmt.Errorf("JobStates did not list job %s, which Status reports %s", submitted.ID, after.State)
	case found.State != before.State && found.State != after.State:
		return fmt.Errorf("JobStates says job %s is %s; Status says %s", submitted.ID, found.State, after.State)
	case found.Terminal != found.State.Terminal():
		return fmt.Errorf("JobStates says job %s is %s with terminal=%v", submitted.ID, found.State, found.Terminal)
	case found.RawState != before.RawState && found.RawState != after.RawState:
		return fmt.Errorf("JobStates gives job %s the raw state %q; Status gives %q", submitted.ID, found.RawState, after.RawState)
	}
	return nil
}

// lookupPages bounds how many pages of a listing a check reads.
const lookupPages = 1000
