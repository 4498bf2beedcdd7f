package npmcheck

// The check must be able to fail: a small provider and a package generated for it in the style of
// pulumi's nodejs code generator, then one mistake at a time, each of which must be reported.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

func demoInfo() tfbridge.ProviderInfo {
	str := func(required bool) *schema.Schema {
		return &schema.Schema{Type: schema.TypeString, Required: required, Optional: !required}
	}
	p := &schema.Provider{
		Schema: map[string]*schema.Schema{"host": str(false)},
		ResourcesMap: map[string]*schema.Resource{
			"demo_widget": {Schema: map[string]*schema.Schema{
				"name":   str(true),
				"size":   {Type: schema.TypeInt, Optional: true},
				"labels": {Type: schema.TypeList, Optional: true, Elem: &schema.Schema{Type: schema.TypeString}},
				"spec": {Type: schema.TypeList, Optional: true, MaxItems: 1, Elem: &schema.Resource{
					Schema: map[string]*schema.Schema{"port": {Type: schema.TypeInt, Required: true}},
				}},
				"serial": {Type: schema.TypeString, Computed: true},
			}},
		},
		DataSourcesMap: map[string]*schema.Resource{
			"demo_thing": {Schema: map[string]*schema.Schema{
				"name":  str(true),
				"value": {Type: schema.TypeString, Computed: true},
			}},
		},
	}
	return tfbridge.ProviderInfo{
		P:    shimv2.NewProvider(p),
		Name: "demo",
		Resources: map[string]*tfbridge.ResourceInfo{
			"demo_widget": {Tok: "demo:index/widget:Widget"},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"demo_thing": {Tok: "demo:index/getThing:getThing"},
		},
	}
}

var demoPackage = map[string]string{
	"package.json": `{"name": "@pulumi/demo", "version": "1.2.3", "pulumi": {"resource": true, "name": "demo", "version": "1.2.3"}}`,
	"provider.js":  `class Provider extends pulumi.ProviderResource { static __pulumiType = 'demo'; }`,
	"provider.d.ts": `export declare class Provider extends pulumi.ProviderResource {
    constructor(name: string, args?: ProviderArgs, opts?: pulumi.ResourceOptions);
}
export interface ProviderArgs {
    /** The daemon (a "{" in a comment; must not confuse the parser). */
    host?: pulumi.Input<string | undefined>;
}`,
	"widget.js": `class Widget extends pulumi.CustomResource {
    static __pulumiType = 'demo:index/widget:Widget';
}`,
	// WidgetArgs first: the cases below edit the first occurrence of a line.
	"widget.d.ts": `export declare class Widget extends pulumi.CustomResource {
    static get(name: string, id: pulumi.Input<pulumi.ID>, state?: WidgetState, opts?: pulumi.CustomResourceOptions): Widget;
    constructor(name: string, args: WidgetArgs, opts?: pulumi.CustomResourceOptions);
}
export interface WidgetArgs {
    labels?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    name: pulumi.Input<string>;
    size?: pulumi.Input<number | undefined>;
    spec?: pulumi.Input<inputs.WidgetSpec | undefined>;
}
export interface WidgetState {
    labels?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    name?: pulumi.Input<string | undefined>;
    serial?: pulumi.Input<string | undefined>;
    size?: pulumi.Input<number | undefined>;
    spec?: pulumi.Input<inputs.WidgetSpec | undefined>;
}`,
	"getThing.js": `function getThing(args, opts) {
    return pulumi.runtime.invoke("demo:index/getThing:getThing", { "name": args.name }, opts);
}`,
	"getThing.d.ts": `export declare function getThing(args: GetThingArgs, opts?: pulumi.InvokeOptions): Promise<GetThingResult>;
export interface GetThingArgs {
    name: string;
}`,
	"types/input.d.ts": `export interface WidgetSpec {
    port: pulumi.Input<number>;
}`,
}

func writePackage(t *testing.T, edit func(files map[string]string)) string {
	files := map[string]string{}
	for k, v := range demoPackage {
		files[k] = v
	}
	if edit != nil {
		edit(files)
	}
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMatchingPackagePasses(t *testing.T) {
	info := demoInfo()
	report, err := Compare(&info, writePackage(t, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Problems) > 0 {
		t.Fatalf("unexpected problems:\n%s", strings.Join(report.Problems, "\n"))
	}
	// Provider.host; Widget: 4 inputs, 5 state, spec.port once; getThing.name.
	if report.Resources != 1 || report.Functions != 1 || report.Properties != 12 {
		t.Errorf("compared %d resources, %d functions, %d properties; want 1, 1, 12",
			report.Resources, report.Functions, report.Properties)
	}
}

func TestDifferencesAreReported(t *testing.T) {
	replace := func(file, old, new string) func(map[string]string) {
		return func(files map[string]string) {
			if !strings.Contains(files[file], old) {
				panic(file + " has no " + old)
			}
			files[file] = strings.Replace(files[file], old, new, 1)
		}
	}
	for _, tc := range []struct {
		name      string
		edit      func(map[string]string)
		notServed map[string]string
		want      string
	}{
		{"renamed input", replace("widget.d.ts", "size?:", "sizes?:"),
			nil, "Widget.sizes: in the npm package (number) but not a property of this provider"},
		{"required-ness", replace("widget.d.ts", "name: pulumi.Input<string>;", "name?: pulumi.Input<string>;"),
			nil, "Widget.name: required false in the npm package, true in this provider"},
		{"scalar type", replace("widget.d.ts", "size?: pulumi.Input<number", "size?: pulumi.Input<string"),
			nil, "Widget.size: string in the npm package, number in this provider"},
		{"list vs scalar", replace("widget.d.ts", "labels?: pulumi.Input<pulumi.Input<string>[] | undefined>;",
			"labels?: pulumi.Input<string | undefined>;"),
			nil, "Widget.labels: string in the npm package, string[] in this provider"},
		{"map vs list", replace("widget.d.ts", "labels?: pulumi.Input<pulumi.Input<string>[] | undefined>;",
			"labels?: pulumi.Input<{\n        [key: string]: pulumi.Input<string>;\n    } | undefined>;"),
			nil, "Widget.labels: map<string> in the npm package, string[] in this provider"},
		{"list vs nested object", replace("widget.d.ts", "spec?: pulumi.Input<inputs.WidgetSpec | undefined>;",
			"spec?: pulumi.Input<pulumi.Input<inputs.WidgetSpec>[] | undefined>;"),
			nil, "Widget.spec: inputs.WidgetSpec[] in the npm package, object in this provider"},
		{"nested property", replace("types/input.d.ts", "port:", "portNumber:"),
			nil, "Widget.spec (inputs.WidgetSpec).portNumber: in the npm package (number) but not a property of this provider"},
		{"state property", replace("widget.d.ts", "serial?:", "serialNumber?:"),
			nil, "Widget (state).serialNumber: in the npm package (string) but not a property of this provider"},
		{"resource token", replace("widget.js", "demo:index/widget:Widget", "demo:index/gadget:Widget"),
			nil, "resource demo:index/gadget:Widget (widget.js): in the npm package, not in this provider"},
		{"function token", replace("getThing.js", "getThing:getThing", "getThing:getThings"),
			nil, "function demo:index/getThing:getThings (getThing.js): in the npm package, not in this provider"},
		{"function argument", replace("getThing.d.ts", "    name: string;", "    name: string;\n    id?: string;"),
			nil, "getThing.id: in the npm package (string) but not a property of this provider"},
		{"provider config", replace("provider.d.ts", "host?:", "hostname?:"),
			nil, "Provider.hostname: in the npm package (string) but not a property of this provider"},
		{"stale exception", nil, map[string]string{"demo:index/widget:Widget": "test"},
			"exception demo:index/widget:Widget: served by this provider after all (stale: remove it)"},
		{"unexplained exception", replace("widget.js", "demo:index/widget:Widget", "demo:index/gadget:Widget"),
			map[string]string{"demo:index/gadget:Widget": " "}, "exception demo:index/gadget:Widget: no reason given"},
		{"unknown exception", nil, map[string]string{"demo:index/image:Image": "test"},
			"exception demo:index/image:Image: not in the npm package (stale: remove it)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := demoInfo()
			report, err := Compare(&info, writePackage(t, tc.edit), tc.notServed)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range report.Problems {
				if p == tc.want {
					return
				}
			}
			t.Errorf("want %q among:\n%s", tc.want, strings.Join(report.Problems, "\n"))
		})
	}
}

func TestNotServedIsSkipped(t *testing.T) {
	info := demoInfo()
	dir := writePackage(t, func(files map[string]string) {
		files["image.js"] = `class Image { static __pulumiType = 'demo:index/image:Image'; }`
	})
	report, err := Compare(&info, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Problems) != 1 || !strings.HasPrefix(report.Problems[0], "resource demo:index/image:Image") {
		t.Fatalf("want the missing Image reported, got %q", report.Problems)
	}
	report, err = Compare(&info, dir, map[string]string{"demo:index/image:Image": "not bridged"})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Problems) != 0 {
		t.Fatalf("want no problems with Image not served, got %q", report.Problems)
	}
}

func TestWrongPackageIsAnError(t *testing.T) {
	info := demoInfo()
	dir := writePackage(t, func(files map[string]string) {
		files["package.json"] = strings.ReplaceAll(files["package.json"], "demo", "other")
	})
	if _, err := Compare(&info, dir, nil); err == nil {
		t.Fatal("want an error for @pulumi/other")
	}
}
