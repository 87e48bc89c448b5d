// Command baseguard answers, the same way in CI, at admission and over
// clusters: what is this container image built on, and is that allowed?
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/baseguard/baseguard/report"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// Exit statuses: 0 when no enforced rule failed, 1 when one did, 2 when
// something could not be checked.
const (
	exitOK        = 0
	exitFailed    = 1
	exitUnchecked = 2
)

// errPolicyFailed reports that an enforced rule failed; the results have
// already been printed.
var errPolicyFailed = errors.New("an enforced rule failed")

// errUnchecked reports that something could not be checked; the results
// (with their error entries) have already been printed.
var errUnchecked = errors.New("something could not be checked")

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errPolicyFailed):
		return exitFailed
	case errors.Is(err, errUnchecked):
		return exitUnchecked
	}
	fmt.Fprintln(os.Stderr, "baseguard: "+report.Printable(err.Error()))
	return exitUnchecked
}
