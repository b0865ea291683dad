// Command gen writes the strict, standalone JSON schemas in deploy/schemas
// that `go test ./deploy/` validates the manifests against with kubeconform,
// without network access at test time.
//
// Kubernetes kinds come from the OpenAPI v2 spec shipped in the k8s.io/kubernetes
// module (api/openapi-spec/swagger.json); the KServe kinds from the CRDs in the
// github.com/kserve/kserve module (config/crd/full). Both modules are fetched
// through the Go module proxy, not added to go.mod. The conversion is the one
// of kubeconform's openapi2jsonschema in "standalone-strict" mode: every $ref
// inlined, additionalProperties false on every object with declared
// properties, int-or-string and quantity as string-or-number, kind and
// apiVersion pinned. Descriptions, formats and x-kubernetes-* extensions are
// dropped, and subtrees repeated in a schema (a container spec appears many
// times in an InferenceService) are stored once under "definitions".
//
//	go run ./deploy/schemas/gen            # from the repository root
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

const (
	kubernetesModule = "k8s.io/kubernetes@v1.34.2"
	kserveModule     = "github.com/kserve/kserve@v0.15.2"
)

// kinds are the Kubernetes definitions written, by swagger name.
var kinds = []string{
	"io.k8s.api.core.v1.Namespace",
	"io.k8s.api.core.v1.ServiceAccount",
	"io.k8s.api.core.v1.ConfigMap",
	"io.k8s.api.core.v1.Service",
	"io.k8s.api.apps.v1.Deployment",
	"io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
	"io.k8s.api.policy.v1.PodDisruptionBudget",
	"io.k8s.api.networking.v1.NetworkPolicy",
}

// crds are the KServe CRD files (config/crd/full) whose served versions are written.
var crds = []string{
	"serving.kserve.io_inferenceservices.yaml",
	"serving.kserve.io_servingruntimes.yaml",
}

const objectMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

func main() {
	out := flag.String("out", "deploy/schemas", "output directory")
	minShared := flag.Int("min-shared", 400, "smallest repeated subtree (bytes of JSON) stored once under definitions")
	flag.Parse()

	k8sDir, err := moduleDir(kubernetesModule)
	if err != nil {
		log.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(k8sDir, "api", "openapi-spec", "swagger.json"))
	if err != nil {
		log.Fatal(err)
	}
	var spec struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		log.Fatal(err)
	}
	c := &converter{defs: spec.Definitions}
	for _, name := range kinds {
		def, ok := spec.Definitions[name]
		if !ok {
			log.Fatalf("%s: not in %s", name, kubernetesModule)
		}
		group, version, kind := gvk(def)
		s, err := c.inline(def, nil)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		pin(s.(map[string]any), group, version, kind)
		write(*out, group, version, kind, s.(map[string]any), *minShared)
	}

	kserveDir, err := moduleDir(kserveModule)
	if err != nil {
		log.Fatal(err)
	}
	meta, err := c.inline(spec.Definitions[objectMeta], nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range crds {
		raw, err := os.ReadFile(filepath.Join(kserveDir, "config", "crd", "full", f))
		if err != nil {
			log.Fatal(err)
		}
		var crd struct {
			Spec struct {
				Group string `yaml:"group"`
				Names struct {
					Kind string `yaml:"kind"`
				} `yaml:"names"`
				Versions []struct {
					Name   string `yaml:"name"`
					Served bool   `yaml:"served"`
					Schema struct {
						OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
					} `yaml:"schema"`
				} `yaml:"versions"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			s := strictCRD(v.Schema.OpenAPIV3Schema).(map[string]any)
			props := s["properties"].(map[string]any)
			props["metadata"] = meta
			pin(s, crd.Spec.Group, v.Name, crd.Spec.Names.Kind)
			write(*out, crd.Spec.Group, v.Name, crd.Spec.Names.Kind, s, *minShared)
		}
	}
}

// moduleDir downloads mod@version into the module cache (outside any main
// module, so go.mod and go.sum stay untouched) and returns its directory.
func moduleDir(mod string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", mod)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=")
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	var r struct{ Dir, Error string }
	if err := json.Unmarshal(b, &r); err != nil {
		return "", err
	}
	if r.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, r.Error)
	}
	return r.Dir, nil
}

func gvk(def map[string]any) (group, version, kind string) {
	l, _ := def["x-kubernetes-group-version-kind"].([]any)
	if len(l) != 1 {
		log.Fatalf("definition without a single x-kubernetes-group-version-kind: %v", l)
	}
	m := l[0].(map[string]any)
	return m["group"].(string), m["version"].(string), m["kind"].(string)
}

// pin requires the kind and apiVersion the schema is for.
func pin(s map[string]any, group, version, kind string) {
	api := version
	if group != "" {
		api = group + "/" + version
	}
	props := s["properties"].(map[string]any)
	props["kind"] = map[string]any{"type": "string", "enum": []any{kind}}
	props["apiVersion"] = map[string]any{"type": "string", "enum": []any{api}}
}

// fileName follows kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json.
func fileName(group, version, kind string) string {
	suffix := ""
	if group != "" {
		suffix = "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	return strings.ToLower(kind) + suffix + "-" + strings.ToLower(version) + ".json"
}

func write(dir, group, version, kind string, s map[string]any, minShared int) {
	s = share(s, minShared)
	s["$schema"] = "http://json-schema.org/draft-04/schema#"
	b, err := json.Marshal(s)
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, fileName(group, version, kind))
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\t%d bytes\n", path, len(b)+1)
}

type converter struct{ defs map[string]map[string]any }

// inline copies a swagger schema with every $ref replaced by its definition,
// made strict. stack catches recursive definitions, which the written kinds
// do not have.
func (c *converter) inline(v any, stack []string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/definitions/")
			for _, s := range stack {
				if s == name {
					return nil, fmt.Errorf("recursive definition %s", name)
				}
			}
			def, ok := c.defs[name]
			if !ok {
				return nil, fmt.Errorf("unknown definition %s", name)
			}
			return c.inline(def, append(stack, name))
		}
		switch v["format"] {
		case "int-or-string":
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}, nil
		case "quantity":
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}, nil
		}
		out := map[string]any{}
		for k, x := range v {
			if dropKey(k) {
				continue
			}
			if k == "properties" {
				props := map[string]any{}
				for p, ps := range x.(map[string]any) {
					y, err := c.inline(ps, stack)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", p, err)
					}
					props[p] = y
				}
				out[k] = props
				continue
			}
			y, err := c.inline(x, stack)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		if _, ok := out["properties"]; ok {
			if _, set := out["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			y, err := c.inline(x, stack)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	default:
		return v, nil
	}
}

// strictCRD makes a CRD's structural schema strict the way inline does,
// honouring x-kubernetes-preserve-unknown-fields and x-kubernetes-int-or-string.
func strictCRD(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v["x-kubernetes-int-or-string"] == true {
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		}
		out := map[string]any{}
		for k, x := range v {
			if dropKey(k) {
				continue
			}
			if k == "properties" {
				props := map[string]any{}
				for p, ps := range x.(map[string]any) {
					props[p] = strictCRD(ps)
				}
				out[k] = props
				continue
			}
			out[k] = strictCRD(x)
		}
		_, hasProps := out["properties"]
		_, set := out["additionalProperties"]
		if hasProps && !set && v["x-kubernetes-preserve-unknown-fields"] != true {
			out["additionalProperties"] = false
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = strictCRD(x)
		}
		return out
	default:
		return v
	}
}

func dropKey(k string) bool {
	return k == "description" || k == "format" || k == "x-kubernetes-group-version-kind" || strings.HasPrefix(k, "x-")
}

// share stores every subschema of at least minShared bytes that occurs more
// than once under definitions/<hash> and replaces its occurrences by a $ref.
// Equal subschemas always get the same treatment, so the result validates
// exactly what the inlined schema does. Only schemas are shared, never the
// maps of "properties" or values of "enum" and "default".
func share(root map[string]any, minShared int) map[string]any {
	count := map[string]int{}
	var walk func(s map[string]any)
	walk = func(s map[string]any) {
		if k := canonical(s); len(k) >= minShared {
			count[k]++
		}
		eachSubschema(s, func(sub map[string]any) map[string]any { walk(sub); return sub })
	}
	walk(root)
	defs := map[string]any{}
	var rewrite func(s map[string]any) map[string]any
	rewrite = func(s map[string]any) map[string]any {
		key := canonical(s)
		out := maps.Clone(s)
		eachSubschema(out, rewrite)
		if count[key] > 1 {
			sum := sha256.Sum256([]byte(key))
			name := "s" + hex.EncodeToString(sum[:6])
			defs[name] = out
			return map[string]any{"$ref": "#/definitions/" + name}
		}
		return out
	}
	out := maps.Clone(root)
	eachSubschema(out, rewrite)
	if len(defs) > 0 {
		out["definitions"] = defs
	}
	return out
}

// eachSubschema replaces every direct subschema of s by f's result.
func eachSubschema(s map[string]any, f func(map[string]any) map[string]any) {
	for k, v := range s {
		switch k {
		case "properties", "patternProperties":
			props := map[string]any{}
			for p, x := range v.(map[string]any) {
				props[p] = f(x.(map[string]any))
			}
			s[k] = props
		case "items", "additionalProperties", "not":
			if m, ok := v.(map[string]any); ok {
				s[k] = f(m)
			}
		case "allOf", "anyOf", "oneOf":
			l := slices.Clone(v.([]any))
			for i, x := range l {
				l[i] = f(x.(map[string]any))
			}
			s[k] = l
		}
	}
}

// canonical is v's JSON with sorted keys (encoding/json sorts map keys).
func canonical(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		log.Fatal(err)
	}
	return b.String()
}
