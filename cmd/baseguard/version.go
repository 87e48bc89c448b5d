package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version, commit and date are stamped at release time with
// -ldflags "-X main.version=... -X main.commit=... -X main.date=..."; a
// build without them takes what the Go toolchain recorded (the module
// version for `go install ...@v1.2.3`, the VCS revision and time for a
// build from a git checkout).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && commit == "":
			commit = s.Value
		case s.Key == "vcs.time" && date == "":
			date = s.Value
		case s.Key == "vcs.modified" && s.Value == "true" && commit != "" && len(commit) == 40:
			commit += "-dirty"
		}
	}
}

// versionLine is what `baseguard --version` prints after the name.
func versionLine() string {
	s := version
	if commit != "" {
		c := commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " commit " + c
	}
	if date != "" {
		s += " built " + date
	}
	return fmt.Sprintf("%s %s/%s %s", s, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
