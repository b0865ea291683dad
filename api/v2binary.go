package api

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/fenzhen/fenzhen/inference"
)

// The KServe v2 / Triton binary data extension: tensors travel as raw
// little-endian bytes after the JSON header, which saves the text encoding
// of every number.

const headerInferenceLength = "Inference-Header-Content-Length"

func elemSize(dt inference.DataType) int {
	switch dt {
	case inference.FP64, inference.INT64:
		return 8
	case inference.FP32, inference.INT32:
		return 4
	}
	return 1 // INT8, UINT8, BOOL
}

func fromLittleEndian(dt inference.DataType, raw []byte) (any, error) {
	size := elemSize(dt)
	if len(raw)%size != 0 {
		return nil, fmt.Errorf("binary data of %d bytes is not a whole number of %d-byte %s values", len(raw), size, dt)
	}
	n := len(raw) / size
	switch dt {
	case inference.FP32:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	case inference.FP64:
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		return out, nil
	case inference.INT64:
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		return out, nil
	case inference.INT32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	case inference.INT8:
		out := make([]int8, n)
		for i, b := range raw {
			out[i] = int8(b)
		}
		return out, nil
	case inference.UINT8:
		return append([]uint8(nil), raw...), nil
	case inference.BOOL:
		out := make([]bool, n)
		for i, b := range raw {
			out[i] = b != 0
		}
		return out, nil
	}
	return nil, fmt.Errorf("datatype %s has no binary form", dt)
}

// appendLittleEndian appends a tensor's elements as raw little-endian bytes.
func appendLittleEndian(dst []byte, data any) []byte {
	switch d := data.(type) {
	case []float32:
		for _, v := range d {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	case []float64:
		for _, v := range d {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	case []int64:
		for _, v := range d {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
		}
	case []int32:
		for _, v := range d {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
		}
	case []int8:
		for _, v := range d {
			dst = append(dst, byte(v))
		}
	case []uint8:
		dst = append(dst, d...)
	case []bool:
		for _, v := range d {
			b := byte(0)
			if v {
				b = 1
			}
			dst = append(dst, b)
		}
	}
	return dst
}
