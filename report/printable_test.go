package report

import "testing"

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"registry.example.com/base/alpine:3.19", "registry.example.com/base/alpine:3.19"},
		{"évian café", "évian café"},
		{"evil\x1b[2J", `evil\x1b[2J`},
		{"a\nb\rc\td", `a\nb\rc\td`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b31m", `c1\u009b31m`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad \xff utf8", `bad \xff utf8`},
	}
	for _, tt := range tests {
		if got := Printable(tt.in); got != tt.want {
			t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
