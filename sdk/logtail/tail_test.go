package logtail

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fileAt reads a fixed byte string as a log object.
func fileAt(data string) func(context.Context, int64, int) ([]byte, error) {
	return func(_ context.Context, off int64, n int) ([]byte, error) {
		if off >= int64(len(data)) {
			return nil, nil
		}
		return []byte(data[off:min(int(off)+n, len(data))]), nil
	}
}

type sentLine struct {
	line string
	next int64
}

func TestTail(t *testing.T) {
	tests := []struct {
		name       string
		data       string
		pos        int64
		final      bool
		block, max int
		want       []sentLine
		wantPos    int64
	}{
		{name: "complete lines", data: "a\nbb\n", want: []sentLine{{"a", 2}, {"bb", 5}}, wantPos: 5},
		{name: "partial line waits", data: "a\nb", want: []sentLine{{"a", 2}}, wantPos: 2},
		{name: "partial line sent when final", data: "a\nb", final: true, want: []sentLine{{"a", 2}, {"b", 3}}, wantPos: 3},
		{name: "from a cursor", data: "a\nbb\ncc\n", pos: 2, want: []sentLine{{"bb", 5}, {"cc", 8}}, wantPos: 8},
		{name: "carriage returns dropped", data: "a\r\n", want: []sentLine{{"a", 3}}, wantPos: 3},
		{name: "long line split", data: "abcdefg\n", max: 3, block: 100, want: []sentLine{{"abc", 3}, {"def", 6}, {"g", 8}}, wantPos: 8},
		{name: "line across blocks", data: "abc\ndefgh\ni\n", block: 6, max: 6, want: []sentLine{{"abc", 4}, {"defgh", 10}, {"i", 12}}, wantPos: 12},
		{name: "full block without newline is split", data: "abcdef", block: 4, max: 4, want: []sentLine{{"abcd", 4}}, wantPos: 4},
		{name: "nothing yet", data: "", want: nil, wantPos: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []sentLine
			tl := Tailer{ReadAt: fileAt(tt.data), Block: tt.block, MaxLine: tt.max}
			pos, err := tl.Tail(context.Background(), tt.pos, tt.final, func(line string, next int64) error {
				got = append(got, sentLine{line, next})
				return nil
			})
			if err != nil || pos != tt.wantPos || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tail = %v, %d, %v; want %v, %d", got, pos, err, tt.want, tt.wantPos)
			}
		})
	}
}

// A log read in two passes, the writer adding to it in between, gives
// every line once and whole.
func TestTailResumesAPartialLine(t *testing.T) {
	data := "first\nsec"
	tl := Tailer{ReadAt: func(ctx context.Context, off int64, n int) ([]byte, error) { return fileAt(data)(ctx, off, n) }}
	var got []string
	send := func(line string, _ int64) error { got = append(got, line); return nil }
	pos, err := tl.Tail(context.Background(), 0, false, send)
	if err != nil {
		t.Fatal(err)
	}
	data += "ond\nthird"
	if _, err := tl.Tail(context.Background(), pos, true, send); err != nil {
		t.Fatal(err)
	}
	if want := []string{"first", "second", "third"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

func TestTailErrors(t *testing.T) {
	readErr := errors.New("read failed")
	tl := Tailer{ReadAt: func(context.Context, int64, int) ([]byte, error) { return nil, readErr }}
	if _, err := tl.Tail(context.Background(), 0, true, nil); err != readErr {
		t.Errorf("read error: got %v, want %v", err, readErr)
	}
	sendErr := errors.New("host gone")
	tl = Tailer{ReadAt: fileAt(strings.Repeat("x\n", 3))}
	pos, err := tl.Tail(context.Background(), 0, true, func(string, int64) error { return sendErr })
	if err != sendErr || pos != 2 {
		t.Errorf("send error: got %d, %v; want 2, %v", pos, err, sendErr)
	}
}
