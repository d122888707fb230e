package main

import (
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/statemap"
)

// stateOf maps SageMaker's TrainingJobStatus and SecondaryStatus onto an
// sdk.State. A job ends in Completed, Failed or Stopped; Stopped after
// MaxRuntimeExceeded, MaxWaitTimeExceeded or Interrupted is a failure the
// user did not ask for, plain Stopped is a cancel. Anything the table does
// not know is StateUnknown, never a guess.
func stateOf(primary types.TrainingJobStatus, secondary types.SecondaryStatus) sdk.State {
	switch primary {
	case types.TrainingJobStatusStopped:
		if stoppedByPlatform(secondary) {
			return sdk.StateFailed
		}
	case types.TrainingJobStatusInProgress:
		if secondary == "" {
			// Just created: SageMaker has not said more yet.
			return sdk.StateStarting
		}
		return inProgressStates.State(secondary)
	}
	return jobStatuses.State(primary)
}

// jobStatuses maps TrainingJobStatus; an InProgress job's state comes from
// its secondary status, and a Stopped one's may (see stateOf).
var jobStatuses = statemap.New(map[types.TrainingJobStatus]sdk.State{
	types.TrainingJobStatusInProgress: sdk.StateRunning,
	types.TrainingJobStatusCompleted:  sdk.StateSucceeded,
	types.TrainingJobStatusFailed:     sdk.StateFailed,
	types.TrainingJobStatusStopping:   sdk.StateStopping,
	types.TrainingJobStatusStopped:    sdk.StateCancelled,
	types.TrainingJobStatusDeleting:   sdk.StateUnknown,
})

// inProgressStates maps the secondary status of an InProgress job. The
// secondary statuses of an ended job say nothing about one in progress.
var inProgressStates = statemap.New(map[types.SecondaryStatus]sdk.State{
	types.SecondaryStatusPending: sdk.StateQueued,
	// Interrupted while in progress: a spot job waiting for capacity.
	types.SecondaryStatusInterrupted:              sdk.StateQueued,
	types.SecondaryStatusStarting:                 sdk.StateStarting,
	types.SecondaryStatusLaunchingMlInstances:     sdk.StateStarting,
	types.SecondaryStatusPreparingTrainingStack:   sdk.StateStarting,
	types.SecondaryStatusDownloading:              sdk.StateStarting,
	types.SecondaryStatusDownloadingTrainingImage: sdk.StateStarting,
	types.SecondaryStatusTraining:                 sdk.StateRunning,
	types.SecondaryStatusUploading:                sdk.StateRunning,
	types.SecondaryStatusUpdating:                 sdk.StateRunning,
	types.SecondaryStatusRestarting:               sdk.StateRunning,
	types.SecondaryStatusStopping:                 sdk.StateStopping,
	types.SecondaryStatusCompleted:                sdk.StateUnknown,
	types.SecondaryStatusFailed:                   sdk.StateUnknown,
	types.SecondaryStatusStopped:                  sdk.StateUnknown,
	types.SecondaryStatusMaxRuntimeExceeded:       sdk.StateUnknown,
	types.SecondaryStatusMaxWaitTimeExceeded:      sdk.StateUnknown,
})

// stoppedByPlatform reports a stop SageMaker made, not the user: a failure.
func stoppedByPlatform(secondary types.SecondaryStatus) bool {
	switch secondary {
	case types.SecondaryStatusMaxRuntimeExceeded, types.SecondaryStatusMaxWaitTimeExceeded, types.SecondaryStatusInterrupted:
		return true
	}
	return false
}

// statusesOf lists the TrainingJobStatus values a job in st can have, for
// List to filter on SageMaker's side.
func statusesOf(st sdk.State) []types.TrainingJobStatus {
	out := jobStatuses.Values(st)
	if len(inProgressStates.Values(st)) > 0 && !slices.Contains(out, types.TrainingJobStatusInProgress) {
		out = append(out, types.TrainingJobStatusInProgress)
	}
	if st == sdk.StateFailed {
		out = append(out, types.TrainingJobStatusStopped)
	}
	return out
}

// rawState keeps both of SageMaker's words for the state.
func rawState(primary types.TrainingJobStatus, secondary types.SecondaryStatus) string {
	if secondary == "" {
		return string(primary)
	}
	return string(primary) + "/" + string(secondary)
}

// stoppedReason explains a stop SageMaker made on its own.
func stoppedReason(secondary types.SecondaryStatus) string {
	switch secondary {
	case types.SecondaryStatusMaxRuntimeExceeded:
		return "the job ran longer than its max_runtime and SageMaker stopped it"
	case types.SecondaryStatusMaxWaitTimeExceeded:
		return "the spot job did not finish within max_wait and SageMaker stopped it"
	case types.SecondaryStatusInterrupted:
		return "the spot capacity was reclaimed and SageMaker stopped the job"
	}
	return ""
}
