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
		f.Add([]byte(seed), -1)
	}
	bin := `{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}],"parameters":{"binary_data_output":true}}`
	f.Add(append([]byte(bin), 0, 0, 128, 63, 0, 0, 0, 64), len(bin))
	f.Add(append([]byte(bin), 1, 2, 3), len(bin))
	f.Fuzz(func(t *testing.T, body []byte, headerLen int) {
		req, err := parseV2Infer(body, headerLen)
		if err != nil {
			return
		}
		for _, in := range req.Inputs {
			if err := in.Check(); err != nil {
				t.Fatalf("accepted a tensor that fails its own check: %v", err)
			}
			if n := inference.NumElements(in.Shape); n > int64(len(body)) {
				t.Fatalf("accepted %d elements from a %d-byte body", n, len(body))
			}
		}
	})
}
