package batch

import (
	"context"
	"sync"
)

// Run calls submit for each item, at most parallel at a time, starting them
// in order, and tells progress about each one that ends. Once ctx ends it
// starts no more; the items it never started have a nil entry in the
// result. It returns when every started call has returned.
func Run[R any](ctx context.Context, items []*Item, parallel int, submit func(context.Context, *Item) R, progress func(*Item, R)) []*R {
	if parallel < 1 {
		parallel = 1
	}
	out := make([]*R, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(parallel, len(items)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := submit(ctx, items[i])
				out[i] = &r
				if progress != nil {
					progress(items[i], r)
				}
			}
		}()
	}
feed:
	for i := range items {
		select {
		case <-ctx.Done():
			break feed
		case next <- i:
		}
	}
	close(next)
	wg.Wait()
	return out
}
