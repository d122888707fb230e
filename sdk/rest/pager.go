package rest

import (
	"context"
	"fmt"
	"iter"
)

// MaxPages bounds a walk, so that a platform whose cursors never end
// fails instead of looping for ever.
const MaxPages = 10000

// CursorPage is one page of a cursor-paginated listing.
type CursorPage[T any] struct {
	Items []T
	// Next fetches the following page; empty on the last.
	Next string
}

// Cursor walks a cursor-paginated listing from cursor: fetch gets the page
// at a cursor ("" is the first). It yields each item, and a final error if
// a fetch fails, a cursor repeats or MaxPages is passed.
func Cursor[T any](ctx context.Context, cursor string, fetch func(ctx context.Context, cursor string) (CursorPage[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := map[string]bool{}
		for range MaxPages {
			page, err := fetch(ctx, cursor)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range page.Items {
				if !yield(it, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			if seen[page.Next] {
				yield(zero, fmt.Errorf("rest: the listing returned cursor %q twice", page.Next))
				return
			}
			seen[page.Next], cursor = true, page.Next
		}
		yield(zero, fmt.Errorf("rest: the listing went on past %d pages", MaxPages))
	}
}

// Offset walks an offset/limit-paginated listing from offset: fetch gets
// up to limit items from an offset. A page shorter than limit is the last.
func Offset[T any](ctx context.Context, offset, limit int, fetch func(ctx context.Context, offset, limit int) ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if limit <= 0 {
			yield(zero, fmt.Errorf("rest: page limit %d must be positive", limit))
			return
		}
		for range MaxPages {
			items, err := fetch(ctx, offset, limit)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if len(items) < limit {
				return
			}
			offset += len(items)
		}
		yield(zero, fmt.Errorf("rest: the listing went on past %d pages", MaxPages))
	}
}
