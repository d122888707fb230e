package main

import (
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/neural-dsl/neural-host/sdk"
)

// stateOf maps SageMaker's TrainingJobStatus and SecondaryStatus onto an
// sdk.State. A job ends in Completed, Failed or Stopped; Stopped after
// MaxRuntimeExceeded, MaxWaitTimeExceeded or Interrupted is a failure the
// user did not ask for, plain Stopped is a cancel. Anything the table does
// not know is StateUnknown, never a guess.
func stateOf(primary types.TrainingJobStatus, secondary types.SecondaryStatus) sdk.State {
	switch primary {
	case types.TrainingJobStatusCompleted:
		return sdk.StateSucceeded
	case types.TrainingJobStatusFailed:
		return sdk.StateFailed
	case types.TrainingJobStatusStopped:
		switch secondary {
		case types.SecondaryStatusMaxRuntimeExceeded, types.SecondaryStatusMaxWaitTimeExceeded, types.SecondaryStatusInterrupted:
			return sdk.StateFailed
		}
		return sdk.StateCancelled
	case types.TrainingJobStatusStopping:
		return sdk.StateStopping
	case types.TrainingJobStatusInProgress:
		switch secondary {
		case types.SecondaryStatusPending, types.SecondaryStatusInterrupted:
			// Interrupted while in progress: a spot job waiting for capacity.
			return sdk.StateQueued
		case "", types.SecondaryStatusStarting, types.SecondaryStatusLaunchingMlInstances, types.SecondaryStatusPreparingTrainingStack,
			types.SecondaryStatusDownloading, types.SecondaryStatusDownloadingTrainingImage:
			return sdk.StateStarting
		case types.SecondaryStatusTraining, types.SecondaryStatusUploading, types.SecondaryStatusUpdating, types.SecondaryStatusRestarting:
			return sdk.StateRunning
		case types.SecondaryStatusStopping:
			return sdk.StateStopping
		}
	}
	return sdk.StateUnknown
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
