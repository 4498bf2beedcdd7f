// Package npmcheck compares a bridged provider's tfbridge.ProviderInfo with the npm package
// (@pulumi/<name>) whose generated TypeScript the programs are written against. A program sends
// what that package's classes declare; a name or shape our provider does not share is ignored,
// mistranslated or rejected at `pulumi up`, so every difference is reported:
//
//   - every resource class and function of the package must exist in the provider with the same
//     token, unless it is listed as not served (with the reason); stale exceptions are reported too;
//   - resources and functions of the provider must exist in the package (a version skew otherwise);
//   - for each resource, its inputs (the <Class>Args interface) agree in names, required-ness and
//     shape (scalar type, list, map, nested object), descending into nested types
//     (types/input.d.ts); the names and shapes of its state (<Class>State, what `get` and the
//     outputs carry) agree as well;
//   - the same for each function's arguments (the parameter names of a Terraform provider-defined
//     function), and for the Provider class's inputs against the provider's configuration.
//
// The package is read from its unpacked files: <name>.js for tokens (`static __pulumiType`,
// `runtime.invoke("...")`) and <name>.d.ts plus types/input.d.ts for the interfaces.
package npmcheck

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
)

// EnvVar names the environment variable holding the unpacked npm package for a provider:
// DOCKER_NPM_PACKAGE, RANDOM_NPM_PACKAGE, HCLOUD_NPM_PACKAGE.
func EnvVar(provider string) string { return strings.ToUpper(provider) + "_NPM_PACKAGE" }

// Run is the test: it compares info with the package named by EnvVar(info.Name) and fails on every
// difference. An unset variable fails too: a check that skips itself is never run.
// notServed lists the package's tokens this provider deliberately does not serve, each with why.
func Run(t *testing.T, info tfbridge.ProviderInfo, notServed map[string]string) {
	t.Helper()
	dir := os.Getenv(EnvVar(info.Name))
	if dir == "" {
		t.Fatalf("%s is not set: point it at an unpacked @pulumi/%s (scripts/pulumi-toolchain.sh does)",
			EnvVar(info.Name), info.Name)
	}
	report, err := Compare(&info, dir, notServed)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range report.Problems {
		t.Error(p)
	}
	t.Logf("@pulumi/%s %s: %d resources, %d functions and the provider config, %d properties compared; %d not served",
		info.Name, report.Version, report.Resources, report.Functions, report.Properties, len(notServed))
	// A parser that finds nothing would pass everything.
	if report.Resources == 0 || report.Properties == 0 {
		t.Errorf("nothing compared in %s: not an unpacked @pulumi/%s?", dir, info.Name)
	}
}

// Report is the outcome of Compare.
type Report struct {
	Version    string   // the npm package's
	Resources  int      // resource classes compared
	Functions  int      // functions compared
	Properties int      // properties found on both sides (nested ones included)
	Problems   []string // every difference, one sentence each
}

var (
	resourceTokenRe = regexp.MustCompile(`static __pulumiType = '([^']+)'`)
	invokeTokenRe   = regexp.MustCompile(`runtime\.invoke(?:Output|Single|SingleOutput)?\("([^"]+)"`)
	ctorArgsRe      = regexp.MustCompile(`constructor\(name: string, args\??: (\w+)`)
	stateArgsRe     = regexp.MustCompile(`static get\(name: string, id: [^,]+, state\??: (\w+)`)
	commentRe       = regexp.MustCompile(`(?s)/\*.*?\*/`)
	inputWrapRe     = regexp.MustCompile(`pulumi\.Input<([^<>]*)>`)
	mapTypeRe       = regexp.MustCompile(`^\{\[key:string\]:(.*);\}$`)
	typeRefRe       = regexp.MustCompile(`^(inputs)\.(\w+)$`)
)

// Compare compares info with the unpacked npm package in dir.
func Compare(info *tfbridge.ProviderInfo, dir string, notServed map[string]string) (*Report, error) {
	var pkg struct {
		Name    string
		Version string
		Pulumi  struct{ Name string }
	}
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return nil, fmt.Errorf("%s/package.json: %w", dir, err)
	}
	if pkg.Name != "@pulumi/"+info.Name || pkg.Pulumi.Name != info.Name {
		return nil, fmt.Errorf("%s holds %s (plugin %q), not @pulumi/%s", dir, pkg.Name, pkg.Pulumi.Name, info.Name)
	}

	c := &checker{dir: dir, seen: map[string]bool{}, report: &Report{Version: pkg.Version}}
	resources, functions, providerClass, err := c.scan()
	if err != nil {
		return nil, err
	}

	// Tokens of the provider.
	ourResources := map[string]string{} // token -> Terraform name
	for tfName, r := range info.Resources {
		if r != nil && r.Tok != "" {
			ourResources[string(r.Tok)] = tfName
		}
	}
	ourFunctions := map[string]string{} // token -> Terraform data source name
	for tfName, d := range info.DataSources {
		if d != nil && d.Tok != "" {
			ourFunctions[string(d.Tok)] = tfName
		}
	}
	// Terraform provider-defined functions (hcloud's idna, txtRecord) are functions in Pulumi too.
	ourProviderFunctions := map[string]string{} // token -> Terraform function name
	for tfName, f := range info.Functions {
		if f != nil && f.Tok != "" {
			ourFunctions[string(f.Tok)] = "provider::" + tfName
			ourProviderFunctions[string(f.Tok)] = tfName
		}
	}

	// Exceptions must say why, and name a token the package has and the provider lacks.
	for _, tok := range sortedKeys(notServed) {
		_, isResource := resources[tok]
		_, isFunction := functions[tok]
		switch {
		case strings.TrimSpace(notServed[tok]) == "":
			c.problem("exception %s: no reason given", tok)
		case !isResource && !isFunction:
			c.problem("exception %s: not in the npm package (stale: remove it)", tok)
		case ourResources[tok] != "" || ourFunctions[tok] != "":
			c.problem("exception %s: served by this provider after all (stale: remove it)", tok)
		}
	}

	for _, tok := range sortedKeys(resources) {
		file := resources[tok]
		tfName, ok := ourResources[tok]
		if _, skip := notServed[tok]; skip {
			continue
		}
		if !ok {
			c.problem("resource %s (%s): in the npm package, not in this provider", tok, rel(dir, file))
			continue
		}
		res := info.P.ResourcesMap().Get(tfName)
		if res == nil {
			c.problem("resource %s: mapped to %s, which the Terraform provider does not have", tok, tfName)
			continue
		}
		c.report.Resources++
		dts, err := readDTS(file)
		if err != nil {
			return nil, err
		}
		class := tok[strings.LastIndex(tok, ":")+1:]
		fields := info.Resources[tfName].GetFields()
		if m := ctorArgsRe.FindStringSubmatch(dts); m != nil {
			c.compare(class, dts, m[1], res.Schema(), fields, resourceInputs)
		} else {
			c.problem("resource %s: no constructor args in %s", tok, rel(dir, file))
		}
		if m := stateArgsRe.FindStringSubmatch(dts); m != nil {
			c.compare(class+" (state)", dts, m[1], res.Schema(), fields, resourceState)
		}
	}
	for _, tok := range sortedKeys(ourResources) {
		if _, ok := resources[tok]; !ok {
			c.problem("resource %s (%s): in this provider, not in the npm package", tok, ourResources[tok])
		}
	}

	for _, tok := range sortedKeys(functions) {
		file := functions[tok]
		tfName, ok := ourFunctions[tok]
		if _, skip := notServed[tok]; skip {
			continue
		}
		if !ok {
			c.problem("function %s (%s): in the npm package, not in this provider", tok, rel(dir, file))
			continue
		}
		if fnName, ok := ourProviderFunctions[tok]; ok {
			if err := c.compareProviderFunction(file, tok, fnName, info.P.Functions()[fnName]); err != nil {
				return nil, err
			}
			continue
		}
		ds := info.P.DataSourcesMap().Get(tfName)
		if ds == nil {
			c.problem("function %s: mapped to %s, which the Terraform provider does not have", tok, tfName)
			continue
		}
		c.report.Functions++
		dts, err := readDTS(file)
		if err != nil {
			return nil, err
		}
		name := tok[strings.LastIndex(tok, ":")+1:]
		// `getX(args: GetXArgs, opts?)`; functions without inputs take only opts.
		argsRe := regexp.MustCompile(`export declare function ` + regexp.QuoteMeta(name) + `\(args\??: (\w+)`)
		var fields map[string]*tfbridge.SchemaInfo
		if d := info.DataSources[tfName]; d != nil {
			fields = d.Fields
		}
		if m := argsRe.FindStringSubmatch(dts); m != nil {
			c.compare(name, dts, m[1], ds.Schema(), fields, inputs)
		} else {
			c.compareProps(name, nil, ds.Schema(), fields, inputs)
		}
	}
	for _, tok := range sortedKeys(ourFunctions) {
		if _, ok := functions[tok]; !ok {
			c.problem("function %s (%s): in this provider, not in the npm package", tok, ourFunctions[tok])
		}
	}

	// The Provider class's inputs are the provider's configuration.
	if providerClass == "" {
		c.problem("no Provider class (static __pulumiType = '%s') in the npm package", info.Name)
	} else {
		dts, err := readDTS(providerClass)
		if err != nil {
			return nil, err
		}
		if m := ctorArgsRe.FindStringSubmatch(dts); m != nil {
			c.compare("Provider", dts, m[1], info.P.Schema(), info.Config, inputs)
		} else {
			c.problem("Provider: no constructor args in %s", rel(dir, providerClass))
		}
	}
	return c.report, nil
}

// compareProviderFunction compares the positional parameters of a Terraform provider-defined
// function with the npm function's: the bridge takes them by these names (`{"domain": ...}`).
func (c *checker) compareProviderFunction(file, tok, tfName string, fn shim.Function) error {
	c.report.Functions++
	dts, err := readDTS(file)
	if err != nil {
		return err
	}
	name := tok[strings.LastIndex(tok, ":")+1:]
	m := regexp.MustCompile(`export declare function ` + regexp.QuoteMeta(name) + `\(([^)]*)\)`).FindStringSubmatch(dts)
	if m == nil {
		c.problem("function %s: no declaration of %s in %s", tok, name, rel(c.dir, file))
		return nil
	}
	var npm []string
	for _, param := range strings.Split(m[1], ",") {
		param = strings.TrimSpace(param[:strings.Index(param+":", ":")])
		if param != "" && param != "opts?" {
			npm = append(npm, strings.TrimSuffix(param, "?"))
		}
	}
	// As the bridge names them (pkg/internal/functions.ArgumentNames): the Pulumi name of each
	// Terraform parameter name, argN when it has none, a numeric suffix for duplicates.
	var ours []string
	seen := map[string]bool{}
	params := fn.Parameters
	if fn.VariadicParameter != nil {
		params = append(params[:len(params):len(params)], *fn.VariadicParameter)
	}
	for i, p := range params {
		base := ""
		if p.Name != "" {
			base = tfbridge.TerraformToPulumiNameV2(p.Name, nil, nil)
		}
		if base == "" {
			base = fmt.Sprintf("arg%d", i+1)
		}
		n := base
		for k := 2; seen[n]; k++ {
			n = fmt.Sprintf("%s%d", base, k)
		}
		seen[n] = true
		ours = append(ours, n)
	}
	if strings.Join(npm, ",") != strings.Join(ours, ",") {
		c.problem("function %s (provider::%s): parameters (%s) in the npm package, (%s) in this provider",
			tok, tfName, strings.Join(npm, ", "), strings.Join(ours, ", "))
		return nil
	}
	c.report.Properties += len(ours)
	return nil
}

type checker struct {
	dir      string
	inputDTS *string         // types/input.d.ts, read when first needed
	seen     map[string]bool // nested types already compared
	report   *Report
}

func (c *checker) problem(format string, args ...any) {
	c.report.Problems = append(c.report.Problems, fmt.Sprintf(format, args...))
}

// scan finds the package's resource tokens and function tokens, each with the .js file that
// declares it, and the Provider class's file.
func (c *checker) scan() (resources, functions map[string]string, providerClass string, err error) {
	resources, functions = map[string]string{}, map[string]string{}
	err = filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".js") {
			return nil
		}
		js, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range resourceTokenRe.FindAllSubmatch(js, -1) {
			tok := string(m[1])
			if !strings.Contains(tok, ":") {
				providerClass = path
				continue
			}
			resources[tok] = path
		}
		for _, m := range invokeTokenRe.FindAllSubmatch(js, -1) {
			functions[string(m[1])] = path
		}
		return nil
	})
	return resources, functions, providerClass, err
}

func readDTS(jsFile string) (string, error) {
	b, err := os.ReadFile(strings.TrimSuffix(jsFile, ".js") + ".d.ts")
	return string(b), err
}

// mode says which properties of a Terraform schema an npm interface lists, and whether the
// interface's optional marks mean "not required".
type mode int

const (
	// Function args, ProviderArgs: the inputs (Optional or Required attributes), and `?` means
	// optional.
	inputs mode = iota
	// <Class>Args: the same, but a Terraform `id` attribute is the resource's id, not a property.
	resourceInputs
	// <Class>State: every attribute but `id`, all optional.
	resourceState
	// A nested type of types/input.d.ts: shared by inputs and outputs, so every attribute, and
	// `?` means optional.
	nested
)

// npmProp is one property of a TypeScript interface.
type npmProp struct {
	required bool
	typ      string // normalised: "string", "number[]", "map<string>", "inputs.ServerPublicNet[]", ...
}

// compare compares interface iface of the declarations src with a Terraform schema.
func (c *checker) compare(where, src, iface string, sm shim.SchemaMap,
	fields map[string]*tfbridge.SchemaInfo, m mode,
) {
	props, err := interfaceProps(src, iface)
	if err != nil {
		c.problem("%s: %v", where, err)
		return
	}
	c.compareProps(where, props, sm, fields, m)
}

func (c *checker) compareProps(where string, npm map[string]npmProp, sm shim.SchemaMap,
	fields map[string]*tfbridge.SchemaInfo, m mode,
) {
	ours, nestedSchemas := providerProps(sm, fields, m)
	names := map[string]bool{}
	for n := range npm {
		names[n] = true
	}
	for n := range ours {
		names[n] = true
	}
	for _, n := range sortedKeys(names) {
		want, inNpm := npm[n]
		got, inOurs := ours[n]
		switch {
		case !inOurs:
			c.problem("%s.%s: in the npm package (%s) but not a property of this provider", where, n, want.typ)
			continue
		case !inNpm:
			c.problem("%s.%s: a property of this provider (%s) but not in the npm package", where, n, got.typ)
			continue
		}
		c.report.Properties++
		if m != resourceState && want.required != got.required {
			c.problem("%s.%s: required %v in the npm package, %v in this provider", where, n, want.required, got.required)
		}
		npmTyp := want.typ
		ref := typeRefRe.FindStringSubmatch(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(npmTyp, "map<"), ">"), "[]"))
		if ref != nil {
			npmTyp = strings.Replace(npmTyp, ref[0], "object", 1)
		}
		if npmTyp != got.typ {
			c.problem("%s.%s: %s in the npm package, %s in this provider", where, n, want.typ, got.typ)
			continue
		}
		if ref == nil || c.seen[ref[0]] {
			continue
		}
		c.seen[ref[0]] = true
		sub := nestedSchemas[n]
		src, err := c.types()
		if err != nil {
			c.problem("%s.%s: %v", where, n, err)
			continue
		}
		c.compare(where+"."+n+" ("+ref[0]+")", src, ref[2], sub.schema, sub.fields, nested)
	}
}

func (c *checker) types() (string, error) {
	if c.inputDTS == nil {
		b, err := os.ReadFile(filepath.Join(c.dir, "types", "input.d.ts"))
		if err != nil {
			return "", err
		}
		s := string(b)
		c.inputDTS = &s
	}
	return *c.inputDTS, nil
}

// interfaceProps parses `export interface <name> { ... }` from TypeScript declarations.
func interfaceProps(src, name string) (map[string]npmProp, error) {
	// Doc comments hold brackets and semicolons of their own.
	src = commentRe.ReplaceAllString(src, "")
	head := "export interface " + name + " {"
	start := strings.Index(src, head)
	if start < 0 {
		return nil, fmt.Errorf("interface %s not found", name)
	}
	body := src[start+len(head):]
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
	if end < 0 {
		return nil, fmt.Errorf("interface %s: no closing brace", name)
	}
	body = strings.Join(strings.Fields(body[:end]), "")

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
			if colon < 0 {
				return nil, fmt.Errorf("interface %s: cannot parse %q", name, decl)
			}
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
	return props, nil
}

type nestedSchema struct {
	schema shim.SchemaMap
	fields map[string]*tfbridge.SchemaInfo
}

// providerProps lists the properties the bridge derives from a Terraform schema, in the notation
// of npmProp ("object" for a nested type); nested objects are returned by name for the caller to
// descend into. Names and shapes come from the bridge's own functions (TerraformToPulumiNameV2,
// IsMaxItemsOne), the ones it translates a program's inputs with.
func providerProps(sm shim.SchemaMap, fields map[string]*tfbridge.SchemaInfo, m mode) (
	map[string]npmProp, map[string]nestedSchema,
) {
	props := map[string]npmProp{}
	nestedSchemas := map[string]nestedSchema{}
	if sm == nil {
		return props, nestedSchemas
	}
	sm.Range(func(key string, s shim.Schema) bool {
		if (m == inputs || m == resourceInputs) && !s.Optional() && !s.Required() {
			return true // output only
		}
		if (m == resourceInputs || m == resourceState) && key == "id" {
			return true // the resource's id, not a property
		}
		info := fields[key]
		name := tfbridge.TerraformToPulumiNameV2(key, sm, fields)
		// A default (autonaming is one) makes a Terraform-required input optional.
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
				nestedSchemas[name] = nestedSchema{elem.Schema(), elemFields}
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
	return props, nestedSchemas
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func rel(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil {
		return r
	}
	return path
}
