package triage

import (
	"context"
	"encoding/json"
	"testing"
)

// FuzzTriage: any JSON body either fails validation with a RequestError
// or yields a well-formed answer; never a panic.
func FuzzTriage(f *testing.F) {
	for _, s := range []string{
		`{"text":"三岁孩子发烧两天了，最高39度","age":3,"sex":"male"}`,
		`{"text":"胸痛","evidence":[{"id":"sweating","state":"present"}],"top_k":20}`,
		`{"text":"不不不没有无","age":0}`, `{"text":"\u0000\ufffd"}`, `{"text":"头痛","age":120.0}`,
	} {
		f.Add(s)
	}
	e := kgEngine(f)
	f.Fuzz(func(t *testing.T, body string) {
		var req Request
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		r, err := e.Triage(context.Background(), req)
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("non-request error %v", err)
			}
			return
		}
		if r.Urgency.Label == "" || r.Disclaimer == "" || r.Departments == nil || r.Diseases == nil {
			t.Fatalf("malformed response %+v", r)
		}
	})
}
