package crd

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Docs are the doc comments of the policy model: "Type" for a type,
// "Type.Field" for a struct field (Go names).
type Docs map[string]string

// ReadDocs reads the doc comments of the Go source in dir (the policy
// package), test files aside.
func ReadDocs(dir string) (Docs, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("reading the model's documentation: %w", err)
	}
	docs := Docs{}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading the model's documentation: %w", err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("reading the model's documentation: %w", err)
		}
		docs.add(f)
	}
	return docs, nil
}

func (d Docs) add(f *ast.File) {
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.TYPE {
			continue
		}
		for _, spec := range gen.Specs {
			ts := spec.(*ast.TypeSpec)
			doc := ts.Doc
			if doc == nil && len(gen.Specs) == 1 {
				doc = gen.Doc
			}
			if doc != nil {
				d[ts.Name.Name] = oneLine(doc.Text())
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, field := range st.Fields.List {
				text := ""
				switch {
				case field.Doc != nil:
					text = field.Doc.Text()
				case field.Comment != nil:
					text = field.Comment.Text()
				}
				for _, n := range field.Names {
					if text != "" {
						d[ts.Name.Name+"."+n.Name] = oneLine(text)
					}
				}
			}
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// field is the description of field f of struct t, read from YAML as
// name: the field's comment, else its struct type's, the leading Go name
// (Go comments start with the name they document) written as in YAML.
func (d Docs) field(t reflect.Type, f reflect.StructField, name string) string {
	text := d[t.Name()+"."+f.Name]
	if text == "" {
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if _, scalar := scalarTypes[ft]; !scalar && ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
			text = d[ft.Name()]
		}
	}
	first, rest, _ := strings.Cut(text, " ")
	ft := f.Type
	for ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	// A list's type documents one item: its comment is kept as written.
	if text != "" && (first == f.Name || (first == ft.Name() && ft.Kind() != reflect.Slice)) {
		return name + " " + rest
	}
	return text
}
