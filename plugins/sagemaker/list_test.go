package main

import (
	"context"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
)

func TestList(t *testing.T) {
	p, _ := newPlatform(t, fakeaws.Options{})
	ctx := context.Background()
	var ids []string
	for _, j := range []struct{ name, script, team string }{
		{"alpha", "pass\n", "vision"},
		{"beta", "import sys\nsys.exit(1)\n", "nlp"},
		{"alpha-two", "pass\n", "nlp"},
	} {
		spec := pythonJob(t, j.name, j.name, j.script)
		spec.Labels = map[string]string{"team": j.team}
		st, err := p.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
		waitTerminal(t, p, st.ID)
	}
	created, _ := p.Status(ctx, ids[1])
	tests := []struct {
		name string
		req  sdk.ListRequest
		want []string
	}{
		{"all, newest first", sdk.ListRequest{}, []string{ids[2], ids[1], ids[0]}},
		{"succeeded", sdk.ListRequest{States: []sdk.State{sdk.StateSucceeded}}, []string{ids[2], ids[0]}},
		{"failed", sdk.ListRequest{States: []sdk.State{sdk.StateFailed}}, []string{ids[1]}},
		{"name prefix", sdk.ListRequest{NamePrefix: "alpha"}, []string{ids[2], ids[0]}},
		{"label", sdk.ListRequest{Labels: map[string]string{"team": "nlp"}}, []string{ids[2], ids[1]}},
		{"created after", sdk.ListRequest{CreatedAfter: created.CreatedAt.Add(-time.Millisecond)}, []string{ids[2], ids[1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.List(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range resp.Jobs {
				got = append(got, j.ID)
				if !j.Terminal || j.RawState == "" {
					t.Errorf("job %+v", j)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
	// Pages of two, then the rest.
	first, err := p.List(ctx, sdk.ListRequest{PageSize: 2})
	if err != nil || len(first.Jobs) != 2 || first.NextPageToken == "" {
		t.Fatalf("first page %+v %v", first, err)
	}
	rest, err := p.List(ctx, sdk.ListRequest{PageSize: 2, PageToken: first.NextPageToken})
	if err != nil || len(rest.Jobs) != 1 || rest.Jobs[0].ID != ids[0] || rest.NextPageToken != "" {
		t.Fatalf("second page %+v %v", rest, err)
	}
}
