package segment

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
)

// TokenizerType is the bleve tokenizer type registered by this package.
// A custom tokenizer of this type names its segmenter in the "segmenter"
// config key (see Register).
const TokenizerType = "gse"

var (
	mu         sync.RWMutex
	segmenters = map[string]*Segmenter{}
)

func init() {
	registry.RegisterTokenizer(TokenizerType, newTokenizer)
}

// Register makes s available to bleve mappings under name.
func Register(name string, s *Segmenter) {
	mu.Lock()
	segmenters[name] = s
	mu.Unlock()
}

func newTokenizer(config map[string]interface{}, _ *registry.Cache) (analysis.Tokenizer, error) {
	name, _ := config["segmenter"].(string)
	mu.RLock()
	s := segmenters[name]
	mu.RUnlock()
	if s == nil {
		return nil, fmt.Errorf("gse tokenizer: no segmenter registered as %q", name)
	}
	return &Tokenizer{seg: s}, nil
}

// Tokenizer emits gse words and, inside each multi-character Han word,
// every character as well, so partial phrasings (心梗 vs 心肌梗死) still
// share terms with the indexed names.
type Tokenizer struct {
	seg *Segmenter
}

// Tokenize implements analysis.Tokenizer.
func (t *Tokenizer) Tokenize(input []byte) analysis.TokenStream {
	words := t.seg.Tokens(input)
	out := make(analysis.TokenStream, 0, len(words)*2)
	pos := 1
	for _, w := range words {
		out = append(out, &analysis.Token{Term: []byte(w.Text), Start: w.Start, End: w.End, Position: pos, Type: analysis.Ideographic})
		if utf8.RuneCountInString(w.Text) > 1 {
			off := w.Start
			for _, r := range w.Text {
				n := utf8.RuneLen(r)
				if IsHan(r) {
					out = append(out, &analysis.Token{Term: []byte(string(r)), Start: off, End: off + n, Position: pos, Type: analysis.Ideographic})
				}
				off += n
			}
		}
		pos++
	}
	return out
}
