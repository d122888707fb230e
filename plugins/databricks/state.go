package main

import (
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/statemap"
)

// runState maps a run's state onto the unified states. The current form,
// status.state with termination_details, wins; the older
// life_cycle_state/result_state pair is the fallback. It returns the
// state, the platform's own words for it and the reason.
func runState(status *jobs.RunStatus, state *jobs.RunState) (sdk.State, string, string) {
	if status != nil && status.State != "" {
		raw := string(status.State)
		var reason string
		st := lifecycleStates.State(status.State)
		switch status.State {
		case jobs.RunLifecycleStateV2StateQueued, jobs.RunLifecycleStateV2StateBlocked, jobs.RunLifecycleStateV2StateWaiting:
			if q := status.QueueDetails; q != nil {
				reason = q.Message
			}
		case jobs.RunLifecycleStateV2StateTerminated:
			if td := status.TerminationDetails; td != nil {
				raw += ":" + string(td.Code)
				reason = td.Message
				st = terminationState(td)
			}
			if st == sdk.StateUnknown && state != nil {
				// An outcome this plugin does not know: the older pair may.
				if old, _, _ := lifeCycleState(state); old.Terminal() {
					st = old
				}
			}
		}
		if reason == "" && state != nil {
			reason = state.StateMessage
		}
		if st == sdk.StateSucceeded {
			reason = ""
		}
		return st, raw, reason
	}
	if state == nil {
		return sdk.StateUnknown, "", ""
	}
	return lifeCycleState(state)
}

// lifecycleStates maps status.state; a terminated run's state comes from
// its termination details.
var lifecycleStates = statemap.New(map[jobs.RunLifecycleStateV2State]sdk.State{
	jobs.RunLifecycleStateV2StateQueued:      sdk.StateQueued,
	jobs.RunLifecycleStateV2StateBlocked:     sdk.StateQueued,
	jobs.RunLifecycleStateV2StateWaiting:     sdk.StateQueued,
	jobs.RunLifecycleStateV2StatePending:     sdk.StateStarting,
	jobs.RunLifecycleStateV2StateRunning:     sdk.StateRunning,
	jobs.RunLifecycleStateV2StateTerminating: sdk.StateStopping,
	jobs.RunLifecycleStateV2StateTerminated:  sdk.StateUnknown,
})

// terminationCodes maps how a terminated run ended.
var terminationCodes = statemap.New(map[jobs.TerminationCodeCode]sdk.State{
	jobs.TerminationCodeCodeSuccess:                     sdk.StateSucceeded,
	jobs.TerminationCodeCodeCanceled:                    sdk.StateCancelled,
	jobs.TerminationCodeCodeUserCanceled:                sdk.StateCancelled,
	jobs.TerminationCodeCodeSkipped:                     sdk.StateCancelled,
	jobs.TerminationCodeCodeDisabled:                    sdk.StateCancelled,
	jobs.TerminationCodeCodeSuccessWithFailures:         sdk.StateFailed,
	jobs.TerminationCodeCodeBreakingChange:              sdk.StateFailed,
	jobs.TerminationCodeCodeBudgetPolicyLimitExceeded:   sdk.StateFailed,
	jobs.TerminationCodeCodeCloudFailure:                sdk.StateFailed,
	jobs.TerminationCodeCodeClusterError:                sdk.StateFailed,
	jobs.TerminationCodeCodeClusterRequestLimitExceeded: sdk.StateFailed,
	jobs.TerminationCodeCodeDriverError:                 sdk.StateFailed,
	jobs.TerminationCodeCodeFeatureDisabled:             sdk.StateFailed,
	jobs.TerminationCodeCodeInternalError:               sdk.StateFailed,
	jobs.TerminationCodeCodeInvalidClusterRequest:       sdk.StateFailed,
	jobs.TerminationCodeCodeInvalidRunConfiguration:     sdk.StateFailed,
	jobs.TerminationCodeCodeLibraryInstallationError:    sdk.StateFailed,
	jobs.TerminationCodeCodeMaxConcurrentRunsExceeded:   sdk.StateFailed,
	jobs.TerminationCodeCodeMaxJobQueueSizeExceeded:     sdk.StateFailed,
	jobs.TerminationCodeCodeMaxSparkContextsExceeded:    sdk.StateFailed,
	jobs.TerminationCodeCodeRepositoryCheckoutFailed:    sdk.StateFailed,
	jobs.TerminationCodeCodeResourceNotFound:            sdk.StateFailed,
	jobs.TerminationCodeCodeRunExecutionError:           sdk.StateFailed,
	jobs.TerminationCodeCodeStorageAccessError:          sdk.StateFailed,
	jobs.TerminationCodeCodeUnauthorizedError:           sdk.StateFailed,
	jobs.TerminationCodeCodeWorkspaceRunLimitExceeded:   sdk.StateFailed,
})

// terminationState maps how a terminated run ended.
func terminationState(td *jobs.TerminationDetails) sdk.State {
	if terminationCodes.Has(td.Code) {
		return terminationCodes.State(td.Code)
	}
	// A code newer than this plugin: its type still says success or not.
	switch td.Type {
	case jobs.TerminationTypeTypeSuccess:
		return sdk.StateSucceeded
	case jobs.TerminationTypeTypeClientError, jobs.TerminationTypeTypeInternalError, jobs.TerminationTypeTypeCloudFailure:
		return sdk.StateFailed
	}
	return sdk.StateUnknown
}

// lifeCycleStates maps the older life_cycle_state; a terminated run's
// state comes from its result_state.
var lifeCycleStates = statemap.New(map[jobs.RunLifeCycleState]sdk.State{
	jobs.RunLifeCycleStateQueued:          sdk.StateQueued,
	jobs.RunLifeCycleStateBlocked:         sdk.StateQueued,
	jobs.RunLifeCycleStateWaitingForRetry: sdk.StateQueued,
	jobs.RunLifeCycleStatePending:         sdk.StateStarting,
	jobs.RunLifeCycleStateRunning:         sdk.StateRunning,
	jobs.RunLifeCycleStateTerminating:     sdk.StateStopping,
	jobs.RunLifeCycleStateSkipped:         sdk.StateCancelled,
	jobs.RunLifeCycleStateInternalError:   sdk.StateFailed,
	jobs.RunLifeCycleStateTerminated:      sdk.StateUnknown,
})

// resultStates maps the result_state of a terminated run.
var resultStates = statemap.New(map[jobs.RunResultState]sdk.State{
	jobs.RunResultStateSuccess:                      sdk.StateSucceeded,
	jobs.RunResultStateFailed:                       sdk.StateFailed,
	jobs.RunResultStateTimedout:                     sdk.StateFailed,
	jobs.RunResultStateUpstreamFailed:               sdk.StateFailed,
	jobs.RunResultStateMaximumConcurrentRunsReached: sdk.StateFailed,
	jobs.RunResultStateSuccessWithFailures:          sdk.StateFailed,
	jobs.RunResultStateCanceled:                     sdk.StateCancelled,
	jobs.RunResultStateUpstreamCanceled:             sdk.StateCancelled,
	jobs.RunResultStateExcluded:                     sdk.StateCancelled,
	jobs.RunResultStateDisabled:                     sdk.StateCancelled,
})

// lifeCycleState maps the older life_cycle_state/result_state pair.
func lifeCycleState(s *jobs.RunState) (sdk.State, string, string) {
	raw := string(s.LifeCycleState)
	if s.ResultState != "" {
		raw += ":" + string(s.ResultState)
	}
	reason := s.StateMessage
	st := lifeCycleStates.State(s.LifeCycleState)
	if s.LifeCycleState == jobs.RunLifeCycleStateTerminated {
		st = resultStates.State(s.ResultState)
	}
	if st == sdk.StateSucceeded {
		reason = ""
	}
	return st, raw, reason
}
