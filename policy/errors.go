package policy

import "fmt"

// LoadError is a policy that could not be loaded, at a file and line.
type LoadError struct {
	File string
	Line int
	Msg  string
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
