package policy

import (
	"regexp"
	"strings"
)

// keyKind says what a condition's key reads.
type keyKind int

const (
	keyOther        keyKind = iota
	keyOperation            // request.operation
	keyImages               // the images of the resource: a list
	keyElementImage         // element.image inside a foreach over containers
	keyBase                 // the declared base of element.image
	keyLabel                // a label of the resource, with a default
	keyNamespace            // request.namespace
)

// condKey is a parsed condition key.
type condKey struct {
	kind keyKind
	// comp is the part of the image read (keyImages, keyElementImage):
	// written (the image field as written), reference, registry, name,
	// path, tag or digest.
	comp string
	// lists are the container lists read; template is set when the key
	// reads a pod template (spec.template...).
	lists    []string
	template bool
	// outside is request.operation's value outside admission (its ||
	// default; empty without one).
	outside string
	// label is the label a keyLabel reads.
	label string
	expr  string
}

// condContext says where conditions are read.
type condContext struct {
	pre     bool // preconditions, not deny conditions
	element bool // inside a foreach over a container list
	// baseVars are context names holding the element image's declared
	// base; imageVars imageRegistry entries of the element image.
	baseVars, imageVars map[string]bool
}

var (
	imagesKey     = regexp.MustCompile(`^images\.(containers|initContainers|ephemeralContainers)\.\*\.(registry|name|path|tag|digest|reference)$`)
	podSpecPrefix = regexp.MustCompile(`^request\.object\.spec\.((template\.spec\.)|(jobTemplate\.spec\.template\.spec\.))?`)
	listSelect    = regexp.MustCompile(`^\[ *(containers|initContainers|ephemeralContainers)( *, *(containers|initContainers|ephemeralContainers))* *\]\[\]$`)
	baseAnnotKey  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\.(manifest\.annotations|configData\.config\.Labels)\."org\.opencontainers\.image\.base\.name"$`)
)

// parseKey reads a condition key: `{{ expression }}`, one expression with at
// most one `||` default.
func parseKey(key any, ctx *condContext) condKey {
	s, ok := key.(string)
	if !ok {
		return condKey{kind: keyOther}
	}
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{{") || !strings.HasSuffix(s, "}}") || strings.Count(s, "{{") != 1 {
		return condKey{kind: keyOther, expr: s}
	}
	expr := strings.TrimSpace(s[2 : len(s)-2])
	expr, def, hasDef := strings.Cut(expr, "||")
	expr, def = strings.TrimSpace(expr), strings.TrimSpace(def)
	if strings.Contains(def, "||") {
		return condKey{kind: keyOther, expr: expr}
	}
	k := condKey{kind: keyOther, expr: expr}
	switch {
	case expr == "request.operation":
		k.kind, k.outside = keyOperation, unquote(def)
	case expr == "request.namespace" && !hasDef:
		k.kind = keyNamespace
	case strings.HasPrefix(expr, "request.object.metadata.labels."):
		if hasDef && unquote(def) == "" && def != "" {
			if l, ok := labelKey(strings.TrimPrefix(expr, "request.object.metadata.labels.")); ok {
				k.kind, k.label = keyLabel, l
			}
		}
	case ctx.element && (expr == "element.image"):
		if !hasDef {
			k.kind, k.comp = keyElementImage, "written"
		}
	case ctx.element && isBaseExpr(expr, ctx):
		if !hasDef || unquote(def) == "" {
			k.kind = keyBase
		}
	case !hasDef || def == "[]" || def == "`[]`":
		k.imageList(expr)
	}
	return k
}

func isBaseExpr(expr string, ctx *condContext) bool {
	if ctx.baseVars[expr] {
		return true
	}
	m := baseAnnotKey.FindStringSubmatch(expr)
	return m != nil && ctx.imageVars[m[1]]
}

// imageList reads the keys that list the resource's images:
// `images.LIST.*.PART` and `request.object.spec[...].LIST[].image`.
func (k *condKey) imageList(expr string) {
	if m := imagesKey.FindStringSubmatch(expr); m != nil {
		k.kind, k.lists, k.comp = keyImages, []string{m[1]}, m[2]
		return
	}
	prefix := podSpecPrefix.FindString(expr)
	if prefix == "" || !strings.HasSuffix(expr, ".image") {
		return
	}
	lists, ok := containerListExpr(strings.TrimSuffix(expr[len(prefix):], ".image"))
	if ok {
		k.kind, k.lists, k.comp, k.template = keyImages, lists, "written", prefix != "request.object.spec."
	}
}

// containerListExpr reads `containers[]`, `containers[*]` or
// `[initContainers, containers][]`.
func containerListExpr(s string) ([]string, bool) {
	for _, l := range []string{"containers", "initContainers", "ephemeralContainers"} {
		if s == l+"[]" || s == l+"[*]" {
			return []string{l}, true
		}
	}
	if !listSelect.MatchString(s) {
		return nil, false
	}
	var lists []string
	for _, l := range strings.Split(strings.Trim(s, "[] "), ",") {
		lists = append(lists, strings.TrimSpace(l))
	}
	return lists, true
}

// foreachLists reads a foreach list over containers:
// `request.object.spec.containers` (or of a pod template), or a selection
// of lists flattened with `[]`.
func foreachLists(list string) (lists []string, template, ok bool) {
	list = strings.TrimSpace(list)
	list = strings.TrimSuffix(strings.TrimPrefix(list, "{{"), "}}")
	list = strings.TrimSpace(list)
	prefix := podSpecPrefix.FindString(list)
	if prefix == "" {
		return nil, false, false
	}
	rest := list[len(prefix):]
	for _, l := range []string{"containers", "initContainers", "ephemeralContainers"} {
		if rest == l {
			return []string{l}, prefix != "request.object.spec.", true
		}
	}
	lists, ok = containerListExpr(rest)
	return lists, prefix != "request.object.spec.", ok
}

// unquote reads a JMESPath literal default: 'raw', `json` or "x".
func unquote(s string) string {
	if len(s) >= 2 {
		switch {
		case s[0] == '\'' && s[len(s)-1] == '\'', s[0] == '`' && s[len(s)-1] == '`', s[0] == '"' && s[len(s)-1] == '"':
			return strings.Trim(s[1:len(s)-1], `"`)
		}
	}
	return s
}

// labelKey reads a JMESPath label key: `team` or `"app.kubernetes.io/name"`.
func labelKey(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		return s, s != "" && !strings.ContainsAny(s, `"\`)
	}
	return s, identifier.MatchString(s)
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
