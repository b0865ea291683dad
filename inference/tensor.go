package inference

import (
	"fmt"
)

// DataType names an element type the way the KServe v2 protocol does.
type DataType string

const (
	FP32  DataType = "FP32"
	FP64  DataType = "FP64"
	INT64 DataType = "INT64"
	INT32 DataType = "INT32"
	INT8  DataType = "INT8"
	UINT8 DataType = "UINT8"
	BOOL  DataType = "BOOL"
)

// Valid reports whether d is a data type the server can carry.
func (d DataType) Valid() bool {
	switch d {
	case FP32, FP64, INT64, INT32, INT8, UINT8, BOOL:
		return true
	}
	return false
}

// Tensor is a named, shaped, typed array. Data holds a typed slice whose Go
// type matches DataType: []float32 (FP32), []float64 (FP64), []int64 (INT64),
// []int32 (INT32), []int8 (INT8), []uint8 (UINT8) or []bool (BOOL), in
// row-major order. For batched models Shape[0] is the batch dimension.
type Tensor struct {
	Name     string
	DataType DataType
	Shape    []int64
	Data     any
}

// maxElements bounds any tensor's size, so products of client-sent shapes cannot overflow.
const maxElements = 1 << 40

// NumElements is the product of the shape; -1 if a dimension is negative or
// the product exceeds 2^40 elements.
func NumElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || d > maxElements {
			return -1
		}
		if d != 0 && n > maxElements/d {
			return -1
		}
		n *= d
	}
	return n
}

// Len is the number of elements held in Data.
func (t *Tensor) Len() int {
	switch v := t.Data.(type) {
	case []float32:
		return len(v)
	case []float64:
		return len(v)
	case []int64:
		return len(v)
	case []int32:
		return len(v)
	case []int8:
		return len(v)
	case []uint8:
		return len(v)
	case []bool:
		return len(v)
	}
	return -1
}

// Check verifies that Data's Go type matches DataType and its length matches Shape.
func (t *Tensor) Check() error {
	want := dataTypeOf(t.Data)
	if want == "" {
		return fmt.Errorf("tensor %q: unsupported data %T", t.Name, t.Data)
	}
	if want != t.DataType {
		return fmt.Errorf("tensor %q: datatype %s does not match data of type %s", t.Name, t.DataType, want)
	}
	if n := NumElements(t.Shape); n < 0 || int64(t.Len()) != n {
		return fmt.Errorf("tensor %q: shape %v needs %d elements, got %d", t.Name, t.Shape, NumElements(t.Shape), t.Len())
	}
	return nil
}

func dataTypeOf(data any) DataType {
	switch data.(type) {
	case []float32:
		return FP32
	case []float64:
		return FP64
	case []int64:
		return INT64
	case []int32:
		return INT32
	case []int8:
		return INT8
	case []uint8:
		return UINT8
	case []bool:
		return BOOL
	}
	return ""
}

// concatRows joins same-typed tensors along dim 0. rows[i] is parts[i].Shape[0].
func concatRows(parts []*Tensor, totalRows int64) (Tensor, error) {
	first := parts[0]
	shape := append([]int64{totalRows}, first.Shape[1:]...)
	out := Tensor{Name: first.Name, DataType: first.DataType, Shape: shape}
	switch first.Data.(type) {
	case []float32:
		out.Data = concatSlices[float32](parts)
	case []float64:
		out.Data = concatSlices[float64](parts)
	case []int64:
		out.Data = concatSlices[int64](parts)
	case []int32:
		out.Data = concatSlices[int32](parts)
	case []int8:
		out.Data = concatSlices[int8](parts)
	case []uint8:
		out.Data = concatSlices[uint8](parts)
	case []bool:
		out.Data = concatSlices[bool](parts)
	default:
		return Tensor{}, fmt.Errorf("tensor %q: unsupported data %T", first.Name, first.Data)
	}
	return out, nil
}

func concatSlices[T any](parts []*Tensor) []T {
	n := 0
	for _, p := range parts {
		n += len(p.Data.([]T))
	}
	out := make([]T, 0, n)
	for _, p := range parts {
		out = append(out, p.Data.([]T)...)
	}
	return out
}

// sliceRows returns rows [from, to) of t along dim 0, sharing t's backing array.
func sliceRows(t *Tensor, from, to int64) Tensor {
	rowLen := NumElements(t.Shape[1:])
	shape := append([]int64{to - from}, t.Shape[1:]...)
	out := Tensor{Name: t.Name, DataType: t.DataType, Shape: shape}
	a, b := from*rowLen, to*rowLen
	switch d := t.Data.(type) {
	case []float32:
		out.Data = d[a:b:b]
	case []float64:
		out.Data = d[a:b:b]
	case []int64:
		out.Data = d[a:b:b]
	case []int32:
		out.Data = d[a:b:b]
	case []int8:
		out.Data = d[a:b:b]
	case []uint8:
		out.Data = d[a:b:b]
	case []bool:
		out.Data = d[a:b:b]
	}
	return out
}
