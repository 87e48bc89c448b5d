package policy

import (
	_ "embed"
	"sync"
)

//go:embed builtin.yaml
var builtinYAML []byte

// BuiltinFile is the name the built-in policy is reported under.
const BuiltinFile = "<built-in>"

var builtin = sync.OnceValues(func() ([]*Policy, error) {
	return Load(File{Name: BuiltinFile, Data: builtinYAML})
})

// Builtin returns the built-in default policy: the seed policy's intent.
func Builtin() []*Policy {
	ps, err := builtin()
	if err != nil {
		panic("built-in policy does not load: " + err.Error())
	}
	return ps
}

// BuiltinYAML returns the built-in policy's source.
func BuiltinYAML() []byte { return builtinYAML }
