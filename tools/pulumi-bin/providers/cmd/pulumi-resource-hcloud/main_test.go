package main

// Checks this provider's tokens and input properties against an unpacked @pulumi/hcloud npm
// package, whose generated TypeScript is what programs send to the provider:
//
//	(cd /tmp && npm pack @pulumi/hcloud@1.41.0 && tar xzf pulumi-hcloud-1.41.0.tgz)
//	HCLOUD_NPM_PACKAGE=/tmp/package go test ./cmd/pulumi-resource-hcloud
//
// For every resource class of the package (and every function token) it compares the token, the
// input property names, which of them are required, and their shapes (scalar type, list, map,
// nested object), descending into nested objects. Skipped when HCLOUD_NPM_PACKAGE is unset.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
)

var (
	tokenRe     = regexp.MustCompile(`__pulumiType = '([^']+)'`)
	commentRe   = regexp.MustCompile(`(?s)/\*.*?\*/`)
	inputWrapRe = regexp.MustCompile(`pulumi\.Input<([^<>]*)>`)
	mapTypeRe   = regexp.MustCompile(`^\{\[key:string\]:(.*);\}$`)
	inputsRefRe = regexp.MustCompile(`^inputs\.(\w+)$`)
)

// compared counts the properties found on both sides.
var compared int

// npmProp is one property of a TypeScript args interface.
type npmProp struct {
	required bool
	typ      string // normalised: "string", "number[]", "map<string>", "inputs.ServerPublicNet[]", ...
}

// interfaceProps parses `export interface <name> { ... }` from TypeScript declarations.
func interfaceProps(t *testing.T, src, name string) map[string]npmProp {
	start := strings.Index(src, "export interface "+name+" {")
	if start < 0 {
		t.Fatalf("interface %s not found", name)
	}
	body := src[start+len("export interface "+name+" {"):]
	depth, end := 0, -1
	for i, c := range body {
		switch c {
		case '{', '<', '[', '(':
			depth++
		case ')', ']', '>':
			depth--
		case '}':
			if depth == 0 {
				end = i
			}
			depth--
		}
		if end >= 0 {
			break
		}
	}
	body = commentRe.ReplaceAllString(body[:end], "")
	body = strings.Join(strings.Fields(body), "")

	props := map[string]npmProp{}
	depth, from := 0, 0
	for i, c := range body {
		switch c {
		case '{', '<', '[', '(':
			depth++
		case '}', '>', ']', ')':
			depth--
		case ';':
			if depth != 0 {
				continue
			}
			decl := body[from:i]
			from = i + 1
			colon := strings.Index(decl, ":")
			key, typ := decl[:colon], decl[colon+1:]
			required := !strings.HasSuffix(key, "?")
			typ = strings.ReplaceAll(typ, "|undefined", "")
			for {
				next := inputWrapRe.ReplaceAllString(typ, "$1")
				if next == typ {
					break
				}
				typ = next
			}
			if m := mapTypeRe.FindStringSubmatch(typ); m != nil {
				typ = "map<" + m[1] + ">"
			}
			props[strings.TrimSuffix(key, "?")] = npmProp{required: required, typ: typ}
		}
	}
	return props
}

// providerProps lists the input properties the bridge derives from a Terraform schema, in the
// same normalised notation; nested objects are returned by name for the caller to descend into.
// Nested object types are shared by inputs and outputs, so they keep their output-only fields.
func providerProps(sm shim.SchemaMap, fields map[string]*tfbridge.SchemaInfo, nestedType bool) (
	map[string]npmProp, map[string]struct {
		schema shim.SchemaMap
		fields map[string]*tfbridge.SchemaInfo
	},
) {
	props := map[string]npmProp{}
	nested := map[string]struct {
		schema shim.SchemaMap
		fields map[string]*tfbridge.SchemaInfo
	}{}
	sm.Range(func(key string, s shim.Schema) bool {
		if !s.Optional() && !s.Required() && !nestedType {
			return true // output only
		}
		info := fields[key]
		name := tfbridge.TerraformToPulumiNameV2(key, sm, fields)
		required := s.Required() && (info == nil || info.Default == nil)

		scalar := func(s shim.Schema, info *tfbridge.SchemaInfo) string {
			if info != nil && info.Type != "" {
				return string(info.Type)
			}
			switch s.Type() {
			case shim.TypeBool:
				return "boolean"
			case shim.TypeInt, shim.TypeFloat:
				return "number"
			case shim.TypeString:
				return "string"
			}
			return fmt.Sprintf("<%v>", s.Type())
		}
		var elemInfo *tfbridge.SchemaInfo
		if info != nil {
			elemInfo = info.Elem
		}
		var elemFields map[string]*tfbridge.SchemaInfo
		if elemInfo != nil {
			elemFields = elemInfo.Fields
		}

		var typ string
		switch s.Type() {
		case shim.TypeList, shim.TypeSet, shim.TypeMap:
			suffix := "[]"
			if s.Type() == shim.TypeMap {
				suffix = "map"
			} else if tfbridge.IsMaxItemsOne(s, info) {
				suffix = ""
			}
			elem := s.Elem()
			// A Plugin Framework list/set nested attribute: a list of maps of objects.
			if e, ok := elem.(shim.Schema); ok && e.Type() == shim.TypeMap {
				if r, ok := e.Elem().(shim.Resource); ok && s.Type() != shim.TypeMap {
					elem = r
				}
			}
			switch elem := elem.(type) {
			case shim.Resource:
				nested[name] = struct {
					schema shim.SchemaMap
					fields map[string]*tfbridge.SchemaInfo
				}{elem.Schema(), elemFields}
				typ = "object"
				if suffix == "map" {
					suffix = "" // a Plugin Framework single nested attribute
				}
			case shim.Schema:
				typ = scalar(elem, elemInfo)
			default:
				typ = "string"
			}
			if suffix == "map" {
				typ = "map<" + typ + ">"
			} else {
				typ += suffix
			}
		default:
			typ = scalar(s, info)
		}
		props[name] = npmProp{required: required, typ: typ}
		return true
	})
	return props, nested
}

func compareProps(t *testing.T, where, inputDTS string, npm map[string]npmProp,
	sm shim.SchemaMap, fields map[string]*tfbridge.SchemaInfo, nestedType bool,
) {
	ours, nested := providerProps(sm, fields, nestedType)
	var names []string
	for n := range npm {
		names = append(names, n)
	}
	for n := range ours {
		if _, ok := npm[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		want, inNpm := npm[n]
		got, inOurs := ours[n]
		switch {
		case !inOurs:
			t.Errorf("%s.%s: in the npm package (%s) but not an input of this provider", where, n, want.typ)
		case !inNpm:
			t.Errorf("%s.%s: an input of this provider (%s) but not in the npm package", where, n, got.typ)
		default:
			compared++
			if want.required != got.required {
				t.Errorf("%s.%s: required %v in npm, %v here", where, n, want.required, got.required)
			}
			npmTyp := want.typ
			if m := inputsRefRe.FindStringSubmatch(strings.TrimSuffix(npmTyp, "[]")); m != nil {
				npmTyp = strings.Replace(npmTyp, "inputs."+m[1], "object", 1)
				if sub, ok := nested[n]; ok && npmTyp == got.typ {
					compareProps(t, where+"."+n, inputDTS, interfaceProps(t, inputDTS, m[1]), sub.schema, sub.fields, true)
				}
			}
			if npmTyp != got.typ {
				t.Errorf("%s.%s: type %s in npm, %s here", where, n, want.typ, got.typ)
			}
		}
	}
}

func TestMatchesNpmPackage(t *testing.T) {
	dir := os.Getenv("HCLOUD_NPM_PACKAGE")
	if dir == "" {
		t.Skip("HCLOUD_NPM_PACKAGE (an unpacked @pulumi/hcloud) is not set")
	}
	var pkg struct{ Version string }
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	t.Logf("comparing with @pulumi/hcloud %s", pkg.Version)
	inputDTS, err := os.ReadFile(filepath.Join(dir, "types", "input.d.ts"))
	if err != nil {
		t.Fatal(err)
	}

	info := providerInfo(context.Background())
	byToken := map[string]string{}
	for tfName, r := range info.Resources {
		byToken[string(r.Tok)] = tfName
	}
	functions := map[string]bool{}
	for _, d := range info.DataSources {
		functions[string(d.Tok)] = true
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*.js"))
	npmResources := map[string]bool{}
	for _, f := range files {
		js, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(filepath.Base(f), ".js")
		if strings.HasPrefix(base, "get") {
			tok := "hcloud:index/" + base + ":" + base
			if !functions[tok] {
				t.Errorf("function %s: in the npm package, not in this provider", tok)
			}
			delete(functions, tok)
			continue
		}
		m := tokenRe.FindSubmatch(js)
		if m == nil || !strings.HasPrefix(string(m[1]), "hcloud:index/") {
			continue
		}
		tok := string(m[1])
		npmResources[tok] = true
		tfName, ok := byToken[tok]
		if !ok {
			t.Errorf("resource %s: in the npm package, not in this provider", tok)
			continue
		}
		dts, err := os.ReadFile(strings.TrimSuffix(f, ".js") + ".d.ts")
		if err != nil {
			t.Fatal(err)
		}
		class := tok[strings.LastIndex(tok, ":")+1:]
		npm := interfaceProps(t, string(dts), class+"Args")
		compareProps(t, class, string(inputDTS), npm,
			info.P.ResourcesMap().Get(tfName).Schema(), info.Resources[tfName].GetFields(), false)
	}
	for tok := range byToken {
		if !npmResources[tok] {
			t.Errorf("resource %s: in this provider, not in the npm package", tok)
		}
	}
	for tok := range functions {
		t.Errorf("function %s: in this provider, not in the npm package", tok)
	}
	t.Logf("checked %d resource classes, %d input properties (nested ones included)", len(npmResources), compared)
}
