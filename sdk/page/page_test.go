package page

import (
	"errors"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestOffset(t *testing.T) {
	tests := []struct {
		token   string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{Token(40), 40, false},
		{"0", 0, false},
		{"-1", 0, true},
		{"abc", 0, true},
	}
	for _, tt := range tests {
		got, err := Offset(tt.token)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("Offset(%q) = %d, %v; want %d, error %v", tt.token, got, err, tt.want, tt.wantErr)
		}
		var e *sdk.Error
		if err != nil && (!errors.As(err, &e) || e.Field != "page_token" || !errors.Is(err, sdk.ErrInvalidArgument)) {
			t.Errorf("Offset(%q) error %v does not name page_token", tt.token, err)
		}
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name             string
		token            string
		size, def, total int
		start, end       int
		next             string
		wantErr          bool
	}{
		{"first page", "", 2, 100, 5, 0, 2, "2", false},
		{"middle page", "2", 2, 100, 5, 2, 4, "4", false},
		{"last page", "4", 2, 100, 5, 4, 5, "", false},
		{"default size", "", 0, 3, 5, 0, 3, "3", false},
		{"exact fit", "", 5, 100, 5, 0, 5, "", false},
		{"empty listing", "", 10, 100, 0, 0, 0, "", false},
		{"at the end", "5", 2, 100, 5, 5, 5, "", false},
		{"past the end", "6", 2, 100, 5, 0, 0, "", true},
		{"bad token", "x", 2, 100, 5, 0, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, next, err := Window(tt.token, tt.size, tt.def, tt.total)
			if start != tt.start || end != tt.end || next != tt.next || (err != nil) != tt.wantErr {
				t.Errorf("Window = %d, %d, %q, %v; want %d, %d, %q, error %v", start, end, next, err, tt.start, tt.end, tt.next, tt.wantErr)
			}
		})
	}
}
