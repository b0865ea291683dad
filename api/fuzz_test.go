package api

import (
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

// FuzzParseV2Infer: any body yields tensors that pass their own checks or an
// error, never a panic, and never more elements than the body could hold.
func FuzzParseV2Infer(f *testing.F) {
	for _, seed := range []string{
		`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1.5,-2e3]}]}`,
		`{"id":"x","inputs":[{"data":[[1,2],[3,4]],"datatype":"INT64","shape":[2,2],"name":"a"}],"outputs":[{"name":"probs"}]}`,
		`{"inputs":[{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]}],"parameters":{"k":[1,{"x":null}]}}`,
		`{"inputs":[{"name":"u","shape":[1],"datatype":"UINT8","data":[300]}]}`,
		`{"inputs":[{"name":"s\u00e9","shape":[9999999999],"datatype":"FP32","data":[]}]}`,
		`{"inputs":[`, `[]`, `{"inputs":[{"name":"a","shape":[1],"datatype":"FP16","data":[1]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, inputs, _, err := parseV2Infer(body)
		if err != nil {
			return
		}
		for _, in := range inputs {
			if err := in.Check(); err != nil {
				t.Fatalf("accepted a tensor that fails its own check: %v", err)
			}
			if n := inference.NumElements(in.Shape); n > int64(len(body)) {
				t.Fatalf("accepted %d elements from a %d-byte body", n, len(body))
			}
		}
	})
}
