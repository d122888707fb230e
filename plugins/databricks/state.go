package main

import (
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/neural-dsl/neural-host/sdk"
)

// runState maps a run's state onto the unified states. The current form,
// status.state with termination_details, wins; the older
// life_cycle_state/result_state pair is the fallback. It returns the
// state, the platform's own words for it and the reason.
func runState(status *jobs.RunStatus, state *jobs.RunState) (sdk.State, string, string) {
	if status != nil && status.State != "" {
		raw := string(status.State)
		var reason string
		var st sdk.State
		switch status.State {
		case jobs.RunLifecycleStateV2StateQueued, jobs.RunLifecycleStateV2StateBlocked, jobs.RunLifecycleStateV2StateWaiting:
			st = sdk.StateQueued
			if q := status.QueueDetails; q != nil {
				reason = q.Message
			}
		case jobs.RunLifecycleStateV2StatePending:
			st = sdk.StateStarting
		case jobs.RunLifecycleStateV2StateRunning:
			st = sdk.StateRunning
		case jobs.RunLifecycleStateV2StateTerminating:
			st = sdk.StateStopping
		case jobs.RunLifecycleStateV2StateTerminated:
			st = sdk.StateUnknown
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
		default:
			st = sdk.StateUnknown
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

// terminationState maps how a terminated run ended.
func terminationState(td *jobs.TerminationDetails) sdk.State {
	switch td.Code {
	case jobs.TerminationCodeCodeSuccess:
		return sdk.StateSucceeded
	case jobs.TerminationCodeCodeCanceled, jobs.TerminationCodeCodeUserCanceled, jobs.TerminationCodeCodeSkipped,
		jobs.TerminationCodeCodeDisabled:
		return sdk.StateCancelled
	case jobs.TerminationCodeCodeSuccessWithFailures,
		jobs.TerminationCodeCodeBreakingChange, jobs.TerminationCodeCodeBudgetPolicyLimitExceeded,
		jobs.TerminationCodeCodeCloudFailure, jobs.TerminationCodeCodeClusterError,
		jobs.TerminationCodeCodeClusterRequestLimitExceeded, jobs.TerminationCodeCodeDriverError,
		jobs.TerminationCodeCodeFeatureDisabled, jobs.TerminationCodeCodeInternalError,
		jobs.TerminationCodeCodeInvalidClusterRequest, jobs.TerminationCodeCodeInvalidRunConfiguration,
		jobs.TerminationCodeCodeLibraryInstallationError, jobs.TerminationCodeCodeMaxConcurrentRunsExceeded,
		jobs.TerminationCodeCodeMaxJobQueueSizeExceeded, jobs.TerminationCodeCodeMaxSparkContextsExceeded,
		jobs.TerminationCodeCodeRepositoryCheckoutFailed, jobs.TerminationCodeCodeResourceNotFound,
		jobs.TerminationCodeCodeRunExecutionError, jobs.TerminationCodeCodeStorageAccessError,
		jobs.TerminationCodeCodeUnauthorizedError, jobs.TerminationCodeCodeWorkspaceRunLimitExceeded:
		return sdk.StateFailed
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

// lifeCycleState maps the older life_cycle_state/result_state pair.
func lifeCycleState(s *jobs.RunState) (sdk.State, string, string) {
	raw := string(s.LifeCycleState)
	if s.ResultState != "" {
		raw += ":" + string(s.ResultState)
	}
	reason := s.StateMessage
	switch s.LifeCycleState {
	case jobs.RunLifeCycleStateQueued, jobs.RunLifeCycleStateBlocked, jobs.RunLifeCycleStateWaitingForRetry:
		return sdk.StateQueued, raw, reason
	case jobs.RunLifeCycleStatePending:
		return sdk.StateStarting, raw, reason
	case jobs.RunLifeCycleStateRunning:
		return sdk.StateRunning, raw, reason
	case jobs.RunLifeCycleStateTerminating:
		return sdk.StateStopping, raw, reason
	case jobs.RunLifeCycleStateSkipped:
		return sdk.StateCancelled, raw, reason
	case jobs.RunLifeCycleStateInternalError:
		return sdk.StateFailed, raw, reason
	case jobs.RunLifeCycleStateTerminated:
		switch s.ResultState {
		case jobs.RunResultStateSuccess:
			return sdk.StateSucceeded, raw, ""
		case jobs.RunResultStateFailed, jobs.RunResultStateTimedout, jobs.RunResultStateUpstreamFailed,
			jobs.RunResultStateMaximumConcurrentRunsReached, jobs.RunResultStateSuccessWithFailures:
			return sdk.StateFailed, raw, reason
		case jobs.RunResultStateCanceled, jobs.RunResultStateUpstreamCanceled, jobs.RunResultStateExcluded,
			jobs.RunResultStateDisabled:
			return sdk.StateCancelled, raw, reason
		}
	}
	return sdk.StateUnknown, raw, reason
}
