package knowledge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// File names of the authored KG inside its directory.
const (
	fileDepartments = "departments.yaml"
	fileBodyParts   = "body_parts.yaml"
	fileSymptoms    = "symptoms.yaml"
	fileRedFlags    = "red_flags.yaml"
	fileChecks      = "checks.yaml"
	fileDrugs       = "drugs.yaml"
	dirDiseases     = "diseases"
)

// LoadDir loads an authored KG from a directory on disk (the layout of
// knowledge/kg) and validates it.
func LoadDir(dir string) (*KG, error) {
	return LoadFS(os.DirFS(dir), ".")
}

// LoadFS loads an authored KG from root inside fsys and validates it.
// Unknown fields and unknown YAML files are errors naming the file. When
// only validation fails, the loaded KG is returned too, with a
// *ValidationError, so tools can still print counts; servers must treat
// any error as fatal.
func LoadFS(fsys fs.FS, root string) (*KG, error) {
	g := &KG{src: map[string]string{}}
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("read KG directory: %w", err)
	}
	known := map[string]bool{fileDepartments: true, fileBodyParts: true, fileSymptoms: true,
		fileRedFlags: true, fileChecks: true, fileDrugs: true, dirDiseases: true}
	for _, e := range entries {
		n := e.Name()
		if isYAML(n) && !known[n] {
			return nil, fmt.Errorf("%s: unknown KG file (expected one of departments, body_parts, symptoms, red_flags, checks, drugs .yaml or diseases/)", n)
		}
	}
	steps := []struct {
		file string
		fn   func(name string, data []byte) error
	}{
		{fileDepartments, func(n string, b []byte) error {
			return decodeList(g, n, b, &g.departments, "department", func(d Department) string { return d.Code })
		}},
		{fileBodyParts, func(n string, b []byte) error {
			return decodeList(g, n, b, &g.bodyParts, "body_part", func(d BodyPart) string { return d.ID })
		}},
		{fileSymptoms, func(n string, b []byte) error {
			return decodeList(g, n, b, &g.symptoms, "symptom", func(d Symptom) string { return d.ID })
		}},
		{fileRedFlags, func(n string, b []byte) error {
			return decodeList(g, n, b, &g.redFlags, "red_flag", func(d RedFlag) string { return d.ID })
		}},
		{fileChecks, func(n string, b []byte) error {
			return decodeList(g, n, b, &g.checks, "check", func(d Check) string { return d.ID })
		}},
		{fileDrugs, func(n string, b []byte) error {
			return decodeList(g, n, b, &g.drugs, "drug", func(d Drug) string { return d.ID })
		}},
	}
	for _, s := range steps {
		data, err := fs.ReadFile(fsys, path.Join(root, s.file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
		if err := s.fn(s.file, data); err != nil {
			return nil, err
		}
	}
	disDir := path.Join(root, dirDiseases)
	files, err := fs.ReadDir(fsys, disDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dirDiseases, err)
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		if !f.IsDir() && isYAML(f.Name()) {
			names = append(names, f.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := fs.ReadFile(fsys, path.Join(disDir, n))
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", dirDiseases, n, err)
		}
		if err := decodeList(g, dirDiseases+"/"+n, data, &g.diseases, "disease", func(d Disease) string { return d.ID }); err != nil {
			return nil, err
		}
	}
	g.build()
	if err := g.Validate(); err != nil {
		return g, err
	}
	return g, nil
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// decodeList strictly decodes a YAML list and appends it to dst, recording
// the source file of each item.
func decodeList[T any](g *KG, file string, data []byte, dst *[]T, kind string, id func(T) string) error {
	var items []T
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&items); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, it := range items {
		key := kind + "/" + id(it)
		if _, dup := g.src[key]; !dup {
			g.src[key] = file
		} else {
			g.src[key+"#dup"] = file
		}
	}
	*dst = append(*dst, items...)
	return nil
}

// LoadFile loads a single-file KG bundle (JSON, or YAML by extension
// .yaml/.yml), as written by `fenzhen kg import`, and validates it.
func LoadFile(p string) (*KG, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("load KG: %w", err)
	}
	var b Bundle
	name := filepath.Base(p)
	if isYAML(p) {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&b); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if b.Version != BundleVersion {
		return nil, fmt.Errorf("%s: field version: got %d, want %d", name, b.Version, BundleVersion)
	}
	return FromBundle(b, name)
}

// FromBundle builds and validates a KG from a bundle; source names the
// origin in error messages.
func FromBundle(b Bundle, source string) (*KG, error) {
	g := &KG{
		departments: b.Departments, bodyParts: b.BodyParts, symptoms: b.Symptoms,
		redFlags: b.RedFlags, checks: b.Checks, drugs: b.Drugs, diseases: b.Diseases,
		src: map[string]string{"*": source},
	}
	g.build()
	if err := g.Validate(); err != nil {
		return g, err
	}
	return g, nil
}

// WriteFile writes the KG as a bundle: YAML for .yaml/.yml, JSON otherwise.
func (g *KG) WriteFile(p string) error {
	b := g.Bundle()
	var data []byte
	var err error
	if isYAML(p) {
		data, err = yaml.Marshal(b)
	} else {
		data, err = json.Marshal(b)
	}
	if err != nil {
		return fmt.Errorf("encode KG: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("write KG: %w", err)
	}
	return nil
}
