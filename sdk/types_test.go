package sdk

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := JobSpec{Kind: KindPython, Entrypoint: "train.py"}
	tests := []struct {
		name   string
		mutate func(*JobSpec)
		fields []string
	}{
		{"valid", func(*JobSpec) {}, nil},
		{"no kind", func(s *JobSpec) { s.Kind = "" }, []string{"kind"}},
		{"unknown kind", func(s *JobSpec) { s.Kind = "notebook" }, []string{"kind"}},
		{"no entrypoint", func(s *JobSpec) { s.Entrypoint = "" }, []string{"entrypoint"}},
		{"escaping entrypoint", func(s *JobSpec) { s.Entrypoint = "../x.py" }, []string{"entrypoint"}},
		{"command without argv", func(s *JobSpec) { s.Kind = KindCommand }, []string{"command"}},
		{"dsl wants .neural", func(s *JobSpec) { s.Kind = KindDSL }, []string{"entrypoint"}},
		{"bad backend", func(s *JobSpec) { s.Kind, s.Entrypoint, s.DSL.Backend = KindDSL, "m.neural", "jax" }, []string{"dsl.backend"}},
		{"negative gpus", func(s *JobSpec) { s.Resources.GPUs = -1 }, []string{"resources.gpus"}},
		{"gpu type without count", func(s *JobSpec) { s.Resources.GPUType = "T4" }, []string{"resources.gpus"}},
		{"sub-second runtime", func(s *JobSpec) { s.Resources.MaxRuntime = time.Millisecond }, []string{"resources.max_runtime"}},
		{"relative workdir", func(s *JobSpec) { s.WorkDir = "src" }, []string{"workdir"}},
		{"two problems", func(s *JobSpec) { s.Resources.CPUs, s.Resources.Nodes = -1, -1 }, []string{"resources.cpus", "resources.nodes"}},
		// The entrypoint is cleaned before the inside-workdir check.
		{"entrypoint escaping through a subdirectory", func(s *JobSpec) { s.Entrypoint = "sub/../../x.py" }, []string{"entrypoint"}},
		{"absolute entrypoint", func(s *JobSpec) { s.Entrypoint = "/etc/x.py" }, []string{"entrypoint"}},
		{"entrypoint that is workdir", func(s *JobSpec) { s.Entrypoint = "sub/.." }, []string{"entrypoint"}},
		{"entrypoint back inside", func(s *JobSpec) { s.Entrypoint = "sub/../x.py" }, nil},
		{"entrypoint named with dots", func(s *JobSpec) { s.Entrypoint = "..x.py" }, nil},
		// NUL cannot reach a program's argv or environment.
		{"NUL in entrypoint", func(s *JobSpec) { s.Entrypoint = "x\x00.py" }, []string{"entrypoint"}},
		{"NUL in args", func(s *JobSpec) { s.Args = []string{"ok", "a\x00b"} }, []string{"args"}},
		{"NUL in command", func(s *JobSpec) { s.Kind, s.Command = KindCommand, []string{"sh\x00"} }, []string{"command"}},
		{"NUL in requirements", func(s *JobSpec) { s.Requirements = []string{"numpy\x00"} }, []string{"requirements"}},
		{"NUL in dataset", func(s *JobSpec) { s.DSL.Dataset = "a\x00" }, []string{"dsl.dataset"}},
		{"NUL in env key", func(s *JobSpec) { s.Env = map[string]string{"A\x00B": "1"} }, []string{"env"}},
		{"NUL in env value", func(s *JobSpec) { s.Env = map[string]string{"A": "1\x002"} }, []string{"env.A"}},
		// Counts travel as int32: a larger one would arrive wrapped around.
		{"gpus past int32", func(s *JobSpec) { s.Resources.GPUs = 1<<32 + 1 }, []string{"resources.gpus"}},
		{"disk past int32", func(s *JobSpec) { s.Resources.DiskGB = math.MaxInt32 + 1 }, []string{"resources.disk_gb"}},
		{"nodes past int32", func(s *JobSpec) { s.Resources.Nodes = 4294967298 }, []string{"resources.nodes"}},
		{"nodes at the int32 limit", func(s *JobSpec) { s.Resources.Nodes = math.MaxInt32 }, nil},
		{"NaN cpus", func(s *JobSpec) { s.Resources.CPUs = math.NaN() }, []string{"resources.cpus"}},
		{"infinite memory", func(s *JobSpec) { s.Resources.MemoryGB = math.Inf(1) }, []string{"resources.memory_gb"}},
		{"fractional runtime", func(s *JobSpec) { s.Resources.MaxRuntime = 1500 * time.Millisecond }, []string{"resources.max_runtime"}},
	}
	for _, tt := range tests {
		s := ok
		tt.mutate(&s)
		err := s.Validate()
		problems := Problems(err)
		if len(problems) != len(tt.fields) {
			t.Errorf("%s: got %v, want problems with %v", tt.name, err, tt.fields)
			continue
		}
		for i, p := range problems {
			var e *Error
			if !errors.As(p, &e) || e.Field != tt.fields[i] || !errors.Is(p, ErrInvalidArgument) || e.Hint == "" {
				t.Errorf("%s: problem %d = %#v, want field %s with a hint", tt.name, i, p, tt.fields[i])
			}
		}
	}
}

func TestParseJobRef(t *testing.T) {
	tests := []struct {
		in      string
		want    JobRef
		wantErr bool
	}{
		{"local:3f9c", JobRef{"local", "3f9c"}, false},
		{"vertex:projects/p/locations/l/customJobs/1:x", JobRef{"vertex", "projects/p/locations/l/customJobs/1:x"}, false},
		{"local", JobRef{}, true},
		{":id", JobRef{}, true},
		{"local:", JobRef{}, true},
		// The platform part becomes part of a binary's path.
		{"../../tmp/evil:1", JobRef{}, true},
		{"Local:1", JobRef{}, true},
	}
	for _, tt := range tests {
		got, err := ParseJobRef(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseJobRef(%q) = %v, %v", tt.in, got, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestTerminal(t *testing.T) {
	var terminal []string
	for _, s := range States {
		if s.Terminal() {
			terminal = append(terminal, string(s))
		}
	}
	if got := strings.Join(terminal, ","); got != "succeeded,failed,cancelled" {
		t.Errorf("terminal states = %s", got)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Kind: ErrNotFound, Field: "job", Message: "no job 1", Hint: "list jobs"}
	if got := e.Error(); got != "job: no job 1 (hint: list jobs)" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(e, ErrNotFound) || errors.Is(e, ErrConflict) {
		t.Error("errors.Is does not follow Kind")
	}
	if got := (&Error{Kind: ErrUnsupported}).Error(); got != "unsupported" {
		t.Errorf("bare kind = %q", got)
	}
}

// TestValidateMessages checks that a refused number says the range it must
// be in and the value it got.
func TestValidateMessages(t *testing.T) {
	tests := []struct {
		name string
		res  Resources
		want string
	}{
		{"nodes", Resources{Nodes: 4294967298}, "resources.nodes: must be between 0 and 2147483647, got 4294967298"},
		{"gpus", Resources{GPUs: -1}, "resources.gpus: must be between 0 and 2147483647, got -1"},
		{"cpus", Resources{CPUs: math.NaN()}, "resources.cpus: must be a finite number, got NaN"},
		{"max_runtime", Resources{MaxRuntime: 1500 * time.Millisecond}, "resources.max_runtime: must be whole seconds, got 1.5s"},
	}
	for _, tt := range tests {
		s := JobSpec{Kind: KindCommand, Command: []string{"x"}, Resources: tt.res}
		got := s.Validate()
		if got == nil || !strings.HasPrefix(got.Error(), tt.want+" (hint: ") {
			t.Errorf("%s: got %v, want %q with a hint", tt.name, got, tt.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      string
		found     bool
		refusal   bool
		transient bool
	}{
		{"wrapped invalid", fmt.Errorf("x: %w", FieldError("f", "bad", "")), "invalid_argument", true, true, false},
		{"rate limited", Errorf(ErrRateLimited, "slow down"), "rate_limited", true, true, true},
		{"unavailable", ErrUnavailable, "unavailable", true, false, true},
		{"plain", errors.New("boom"), "", false, false, false},
	}
	for _, tc := range tests {
		k, ok := KindOf(tc.err)
		if ok != tc.found || k.Name != tc.want || k.Refusal != tc.refusal || k.Transient != tc.transient {
			t.Errorf("%s: KindOf = %+v, %v; want %q found=%v refusal=%v transient=%v", tc.name, k, ok, tc.want, tc.found, tc.refusal, tc.transient)
		}
	}
}
