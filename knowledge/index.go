package knowledge

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/fenzhen/fenzhen/nlp/segment"
)

// Hit types returned by Search.
const (
	TypeDisease    = "disease"
	TypeSymptom    = "symptom"
	TypeDepartment = "department"
	TypeCheck      = "check"
	TypeDrug       = "drug"
)

// Hit is one search result.
type Hit struct {
	ID    string  `json:"id"`
	Type  string  `json:"type"`
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// Search limits.
const (
	DefaultSearchLimit = 10
	MaxSearchLimit     = 100
	MaxQueryRunes      = 100
)

// ErrEmptyQuery is returned by Search for a blank query.
var ErrEmptyQuery = errors.New("query must not be empty")

// Index is a bleve full-text index over a KG. Safe for concurrent use.
type Index struct {
	kg  *KG
	idx bleve.Index
}

// doc is what gets indexed; exact holds normalized names for whole-term hits.
type doc struct {
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	Synonyms    []string `json:"synonyms"`
	Description string   `json:"description"`
	Exact       []string `json:"exact"`
}

var segmenterSeq atomic.Int64

// diskSegmenter is the tokenizer's segmenter name stored in on-disk indexes.
const diskSegmenter = "fenzhen-disk"

// Terms returns every name, synonym and alias in the KG, for building
// segmenter and extractor dictionaries.
func (g *KG) Terms() []string {
	var out []string
	add := func(ss ...string) { out = append(out, ss...) }
	for _, d := range g.departments {
		add(d.Name)
		add(d.Aliases...)
	}
	for _, b := range g.bodyParts {
		add(b.Name)
		add(b.Synonyms...)
	}
	for _, s := range g.symptoms {
		add(s.Name)
		add(s.Synonyms...)
	}
	for _, c := range g.checks {
		add(c.Name)
		add(c.Synonyms...)
	}
	for _, d := range g.drugs {
		add(d.Name)
		add(d.Synonyms...)
	}
	for _, d := range g.diseases {
		add(d.Name)
		add(d.Aliases...)
	}
	return out
}

// NewIndex builds an in-memory index over the KG with its own segmenter.
func NewIndex(g *KG) (*Index, error) {
	seg, err := segment.New(g.Terms())
	if err != nil {
		return nil, err
	}
	return NewIndexWith(g, seg)
}

// NewIndexWith builds an in-memory index using an existing segmenter
// (share it with the extractor to halve start-up time).
func NewIndexWith(g *KG, seg *segment.Segmenter) (*Index, error) {
	name := fmt.Sprintf("fenzhen-%d", segmenterSeq.Add(1))
	segment.Register(name, seg)
	m, err := indexMapping(name)
	if err != nil {
		return nil, err
	}
	// scorch without a path stays in memory and indexes several times
	// faster than bleve.NewMemOnly's upsidedown/gtreap store.
	idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("create index: %w", err)
	}
	if err := fill(idx, g); err != nil {
		return nil, err
	}
	return &Index{kg: g, idx: idx}, nil
}

// WriteIndex builds the index on disk in dir (which must not exist yet).
func WriteIndex(g *KG, dir string) error {
	seg, err := segment.New(g.Terms())
	if err != nil {
		return err
	}
	segment.Register(diskSegmenter, seg)
	m, err := indexMapping(diskSegmenter)
	if err != nil {
		return err
	}
	idx, err := bleve.New(dir, m)
	if err != nil {
		return fmt.Errorf("create index %s: %w", dir, err)
	}
	if err := fill(idx, g); err != nil {
		idx.Close()
		return err
	}
	if err := idx.Close(); err != nil {
		return fmt.Errorf("close index: %w", err)
	}
	return nil
}

// OpenIndex opens an index written by WriteIndex for the same KG.
func OpenIndex(g *KG, dir string) (*Index, error) {
	seg, err := segment.New(g.Terms())
	if err != nil {
		return nil, err
	}
	segment.Register(diskSegmenter, seg)
	idx, err := bleve.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	return &Index{kg: g, idx: idx}, nil
}

// Close releases the index.
func (x *Index) Close() error { return x.idx.Close() }

// Count returns the number of indexed documents.
func (x *Index) Count() (uint64, error) { return x.idx.DocCount() }

func indexMapping(segmenter string) (mapping.IndexMapping, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomTokenizer("zh_gse", map[string]interface{}{"type": segment.TokenizerType, "segmenter": segmenter}); err != nil {
		return nil, fmt.Errorf("index mapping: %w", err)
	}
	if err := m.AddCustomAnalyzer("zh", map[string]interface{}{
		"type": custom.Name, "tokenizer": "zh_gse", "token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("index mapping: %w", err)
	}
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = "zh"
		f.Store = false
		f.IncludeTermVectors = false
		return f
	}
	kw := bleve.NewKeywordFieldMapping()
	kw.Analyzer = keyword.Name
	kw.Store = false
	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt("type", kw)
	dm.AddFieldMappingsAt("exact", kw)
	dm.AddFieldMappingsAt("name", text())
	dm.AddFieldMappingsAt("synonyms", text())
	dm.AddFieldMappingsAt("description", text())
	m.DefaultMapping = dm
	m.DefaultAnalyzer = "zh"
	return m, nil
}

func exact(names ...[]string) []string {
	var out []string
	for _, ns := range names {
		for _, n := range ns {
			if n = Normalize(n); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

func fill(idx bleve.Index, g *KG) error {
	b := idx.NewBatch()
	add := func(typ, id string, d doc) error {
		d.Type = typ
		return b.Index(typ+":"+id, d)
	}
	var err error
	for _, d := range g.departments {
		err = errors.Join(err, add(TypeDepartment, d.Code, doc{Name: d.Name, Synonyms: d.Aliases, Exact: exact([]string{d.Name, d.Code}, d.Aliases)}))
	}
	for _, s := range g.symptoms {
		err = errors.Join(err, add(TypeSymptom, s.ID, doc{Name: s.Name, Synonyms: s.Synonyms, Exact: exact([]string{s.Name}, s.Synonyms)}))
	}
	for _, c := range g.checks {
		err = errors.Join(err, add(TypeCheck, c.ID, doc{Name: c.Name, Synonyms: c.Synonyms, Exact: exact([]string{c.Name}, c.Synonyms)}))
	}
	for _, d := range g.drugs {
		err = errors.Join(err, add(TypeDrug, d.ID, doc{Name: d.Name, Synonyms: d.Synonyms, Exact: exact([]string{d.Name}, d.Synonyms)}))
	}
	for _, d := range g.diseases {
		err = errors.Join(err, add(TypeDisease, d.ID, doc{Name: d.Name, Synonyms: d.Aliases, Description: d.Description, Exact: exact([]string{d.Name}, d.Aliases)}))
	}
	if err != nil {
		return fmt.Errorf("index KG: %w", err)
	}
	if err := idx.Batch(b); err != nil {
		return fmt.Errorf("index KG: %w", err)
	}
	return nil
}

// Search finds KG items matching q, best first. A whole-name or synonym
// match ranks highest; when the best hit is a symptom, diseases having it
// follow, weighted by how often they show it. types optionally restricts
// the hit types.
func (x *Index) Search(q string, limit int, types ...string) ([]Hit, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, ErrEmptyQuery
	}
	if utf8.RuneCountInString(q) > MaxQueryRunes {
		return nil, fmt.Errorf("query longer than %d characters", MaxQueryRunes)
	}
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, MaxSearchLimit)
	req := bleve.NewSearchRequestOptions(x.buildQuery(q, types), limit*2, 0, false)
	res, err := x.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	want := func(t string) bool { return len(types) == 0 || contains(types, t) }
	seen := map[string]bool{}
	hits := make([]Hit, 0, limit)
	var topSym *Hit
	for _, h := range res.Hits {
		typ, id, ok := strings.Cut(h.ID, ":")
		if !ok {
			continue
		}
		hit := Hit{ID: id, Type: typ, Name: x.name(typ, id), Score: h.Score}
		seen[h.ID] = true
		hits = append(hits, hit)
		if topSym == nil && typ == TypeSymptom && len(hits) <= 3 {
			topSym = &hit
		}
	}
	if topSym != nil && want(TypeDisease) {
		for _, d := range x.kg.DiseasesWithSymptom(topSym.ID) {
			if seen[TypeDisease+":"+d.ID] {
				continue
			}
			hits = append(hits, Hit{ID: d.ID, Type: TypeDisease, Name: d.Name, Score: topSym.Score * 0.5 * d.Symptoms[topSym.ID]})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

func (x *Index) buildQuery(q string, types []string) query.Query {
	ex := bleve.NewTermQuery(Normalize(q))
	ex.SetField("exact")
	ex.SetBoost(20)
	name := bleve.NewMatchQuery(q)
	name.SetField("name")
	name.SetBoost(3)
	syn := bleve.NewMatchQuery(q)
	syn.SetField("synonyms")
	syn.SetBoost(2)
	desc := bleve.NewMatchQuery(q)
	desc.SetField("description")
	desc.SetBoost(0.3)
	var top query.Query = bleve.NewDisjunctionQuery(ex, name, syn, desc)
	if len(types) > 0 {
		tq := make([]query.Query, len(types))
		for i, t := range types {
			q := bleve.NewTermQuery(t)
			q.SetField("type")
			tq[i] = q
		}
		top = bleve.NewConjunctionQuery(top, bleve.NewDisjunctionQuery(tq...))
	}
	return top
}

func (x *Index) name(typ, id string) string {
	switch typ {
	case TypeDisease:
		if d, ok := x.kg.Disease(id); ok {
			return d.Name
		}
	case TypeSymptom:
		if s, ok := x.kg.Symptom(id); ok {
			return s.Name
		}
	case TypeDepartment:
		if d, ok := x.kg.Department(id); ok {
			return d.Name
		}
	case TypeCheck:
		if c, ok := x.kg.Check(id); ok {
			return c.Name
		}
	case TypeDrug:
		if d, ok := x.kg.Drug(id); ok {
			return d.Name
		}
	}
	return ""
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
