package sdk

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigDuration(t *testing.T) {
	const def = 7 * time.Second
	tests := []struct {
		name    string
		value   string
		atLeast time.Duration
		want    time.Duration
		wantErr string
	}{
		{"unset keeps the default", "", time.Nanosecond, def, ""},
		{"positive", "2m", time.Nanosecond, 2 * time.Minute, ""},
		{"zero is not positive", "0s", time.Nanosecond, def, "is not a positive duration"},
		{"zero allowed", "0s", 0, 0, ""},
		{"negative", "-1s", 0, def, "is not a duration"},
		{"garbage", "soon", time.Nanosecond, def, "is not a positive duration"},
		{"below the floor", "500ms", time.Second, def, "is not a duration of at least 1s"},
		{"at the floor", "1s", time.Second, time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := def
			err := Config{"poll_interval": tt.value}.Duration("poll_interval", tt.atLeast, &got)
			if got != tt.want {
				t.Errorf("value = %s, want %s", got, tt.want)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Field != "poll_interval" || !errors.Is(err, ErrInvalidArgument) || !strings.Contains(e.Message, tt.wantErr) {
				t.Errorf("error %v, want %q on poll_interval", err, tt.wantErr)
			}
		})
	}
}
