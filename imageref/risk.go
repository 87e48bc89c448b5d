package imageref

import (
	"fmt"
	"strings"
)

// Risks explains how a pattern, used to allow images, admits more than it
// seems to. It returns nothing for a pattern without such a risk.
func (p Pattern) Risks() []string {
	s := p.text
	if p.literal != nil || s == "" {
		return nil
	}
	var risks []string
	if s == "*" {
		return []string{"`*` matches every image"}
	}
	if !p.hasHost && (s[0] == '*' || s[0] == '?') {
		risks = append(risks, fmt.Sprintf("%q names no registry: it also matches the same name in any registry (e.g. %s)", s, example(s, "evil.example.io/")))
	}
	if p.hasHost && hasWildcard(p.host) {
		risks = append(risks, fmt.Sprintf("%q has a wildcard in its registry host %q", s, p.host))
	}
	if i := strings.LastIndexAny(s, "*?"); i == len(s)-1 && i > 0 {
		prev := s[i-1]
		if isNameChar(prev) && !strings.ContainsAny(s[strings.LastIndex(s, "/")+1:i], ":@") {
			admitted := s[:i] + "-evil"
			risks = append(risks, fmt.Sprintf("%q also admits other repositories whose name starts the same, e.g. %s; write %s:* to allow only its tags", s, strings.ReplaceAll(admitted, "*", "x"), s[:i]))
		}
	}
	return risks
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func example(s, prefix string) string {
	core := strings.Trim(s, "*?")
	return prefix + core
}
