package nlp

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestDbg(t *testing.T) {
	x := defaultExtractor(t)
	for _, s := range strings.Split(os.Getenv("DBG"), "|") {
		r := x.Extract(s)
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	}
}
