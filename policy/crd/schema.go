package crd

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/baseguard/baseguard/policy"
	"go.yaml.in/yaml/v3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

type props = apiextensionsv1.JSONSchemaProps

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// generator derives a schema from Go types as the loader reads them: the
// yaml tags name the properties, inline structs merge theirs.
type generator struct {
	docs Docs
	// stack holds the struct types being generated, to cut recursion.
	stack []reflect.Type
	// used records the field table entries applied, so that an entry for
	// a field the model no longer has is an error.
	used map[string]bool
	// cut lists the recursive fields left out ("Match.exclude" within an
	// exclude): the loader reads them and then refuses them.
	cut []string
}

// SpecSchema is the schema of a BaseImagePolicy's spec, generated from
// policy.Spec with the field descriptions in docs (nil: none).
func SpecSchema(docs Docs) (*props, error) {
	s, _, err := specSchema(docs)
	return s, err
}

// specSchema also returns the recursive fields left out.
func specSchema(docs Docs) (*props, []string, error) {
	g := &generator{docs: docs, used: map[string]bool{}}
	s, err := g.of(reflect.TypeOf(policy.Spec{}))
	if err != nil {
		return nil, nil, err
	}
	for key := range fields {
		if !g.used[key] {
			return nil, nil, fmt.Errorf("the field table names %s, which the policy model does not have", key)
		}
	}
	return s, g.cut, nil
}

// of is the schema of a value of type t.
func (g *generator) of(t reflect.Type) (*props, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := scalarTypes[t]; ok {
		c := s
		return &c, nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil, fmt.Errorf("%s decodes itself from YAML: give its schema in scalarTypes", t)
	}
	switch t.Kind() {
	case reflect.String:
		return &props{Type: "string"}, nil
	case reflect.Bool:
		return &props{Type: "boolean"}, nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		return &props{Type: "integer"}, nil
	case reflect.Slice:
		items, err := g.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return &props{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: items}}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: only maps with string keys have a schema", t)
		}
		v, err := g.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return &props{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: v}}, nil
	case reflect.Struct:
		return g.object(t)
	}
	return nil, fmt.Errorf("%s: no schema for a %s", t, t.Kind())
}

// object is the schema of a struct: a property per field the loader reads.
func (g *generator) object(t reflect.Type) (*props, error) {
	g.stack = append(g.stack, t)
	defer func() { g.stack = g.stack[:len(g.stack)-1] }()
	s := &props{Type: "object", Properties: map[string]props{}}
	if err := g.addFields(s, t, t); err != nil {
		return nil, err
	}
	return s, nil
}

// addFields adds the fields of t (inline ones merged) to s, the schema of
// owner.
func (g *generator) addFields(s *props, owner, t reflect.Type) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" {
			if err := g.addFields(s, owner, f.Type); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if g.recursive(f.Type) {
			g.cut = append(g.cut, owner.Name()+"."+name)
			continue
		}
		p, err := g.of(f.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		// A scalar type's own description stays where the field has none.
		if d := g.docs.field(t, f, name); d != "" {
			p.Description = d
		}
		key := owner.Name() + "." + name
		if fc, ok := fields[key]; ok {
			g.used[key] = true
			if err := fc.apply(p); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if fc.required {
				s.Required = append(s.Required, name)
			}
		}
		s.Properties[name] = *p
	}
	return nil
}

// recursive reports whether t (through pointers and slices) is a struct
// generated twice already on the way here. A structural schema cannot
// refer to itself, so a type nests in itself once (an exclude in a match)
// and no deeper (the loader refuses an exclude in an exclude).
func (g *generator) recursive(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	n := 0
	for _, s := range g.stack {
		if s == t {
			n++
		}
	}
	return n >= 2
}
