// Command fakeawsd serves the fakeaws stand-ins until it is stopped, for
// benchmarks outside this plugin's tree, which cannot import fakeaws. It
// creates the buckets named as arguments, prints the environment that
// points a sagemaker plugin at the stand-ins, one VAR=value a line, then
// "READY", and serves until stdin closes or it is signalled. It is for
// benchmarks only: the stand-ins keep every object in memory.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
)

// process is the testing.TB fakeaws.Start asks for, outside a test: its
// clean-ups run when the process stops serving. Start calls only Helper
// and Cleanup; any other method of the nil embedded TB would panic, which
// a change to Start would show at once.
type process struct {
	testing.TB
	cleanups []func()
}

func (p *process) Helper()          {}
func (p *process) Cleanup(f func()) { p.cleanups = append(p.cleanups, f) }

func main() {
	p := &process{}
	env := fakeaws.Start(p, fakeaws.Options{})
	for _, bucket := range os.Args[1:] {
		if err := env.S3.CreateBucket(bucket); err != nil {
			fmt.Fprintln(os.Stderr, "fakeawsd:", err)
			os.Exit(1)
		}
	}
	for _, kv := range env.Environ() {
		fmt.Println(kv)
	}
	fmt.Println("READY")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop <- syscall.SIGTERM
	}()
	<-stop
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
}
