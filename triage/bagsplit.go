package triage

// Reading and rewriting a triage head's ONNX graph for the embedding bag
// (bag.go): the embedding weights are read out of the model file and the
// graph after the sum is written back as a model of its own. The protobuf
// is walked with protowire, field by field, so no ONNX schema is compiled
// in; only the fields named below are read, every other byte is kept as is.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// errNotBag: the graph does not start with Gather → (Cast) → ReduceSum.
var errNotBag = errors.New("not an embedding bag")

// ONNX protobuf field numbers used here (onnx.proto).
const (
	modelGraph     = 7
	graphNode      = 1
	graphInit      = 5
	graphInput     = 11
	nodeInput      = 1
	nodeOutput     = 2
	nodeOpType     = 4
	nodeAttribute  = 5
	attrName       = 1
	attrInt        = 3
	tensorDims     = 1
	tensorDataType = 2
	tensorName     = 8
	tensorRawData  = 9
	onnxFloat      = 1
	onnxFloat16    = 10
)

// node is the part of a NodeProto splitBag reads, with its encoding.
type node struct {
	raw     []byte
	op      string
	in, out []string
	keep    int64 // ReduceSum keepdims (default 1)
}

// splitBag reads the embedding of a head and writes its tail: the graph
// without the Gather, Cast and ReduceSum nodes and the embedding, whose
// input is the ReduceSum's output.
func splitBag(model []byte) (*embeddingBag, []byte, error) {
	graph, rest, err := takeField(model, modelGraph)
	if err != nil {
		return nil, nil, err
	}
	var nodes []node
	var inits, others [][]byte
	err = eachField(graph, func(num protowire.Number, raw, val []byte) error {
		switch num {
		case graphNode:
			n, err := parseNode(val)
			if err != nil {
				return err
			}
			n.raw = raw
			nodes = append(nodes, n)
		case graphInit:
			inits = append(inits, raw)
		case graphInput:
			// replaced below
		default:
			others = append(others, raw)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(nodes) < 2 || nodes[0].op != "Gather" || len(nodes[0].in) != 2 {
		return nil, nil, errNotBag
	}
	drop := map[int]bool{0: true}
	last := nodes[0].out[0]
	var sum *node
	for i := 1; i < len(nodes) && sum == nil; i++ {
		n := &nodes[i]
		switch {
		case n.op == "Cast" && len(n.in) == 1 && n.in[0] == last:
			drop[i], last = true, n.out[0]
		case n.op == "ReduceSum" && len(n.in) == 2 && n.in[0] == last && n.keep == 0:
			drop[i], sum = true, n
		case n.op != "Constant":
			return nil, nil, errNotBag
		}
	}
	if sum == nil || len(sum.out) != 1 {
		return nil, nil, errNotBag
	}
	b := &embeddingBag{input: sum.out[0]}
	if err := b.readEmbedding(inits, nodes[0].in[0]); err != nil {
		return nil, nil, err
	}
	if !axesAreOne(nodes, inits, sum.in[1]) {
		return nil, nil, errNotBag
	}
	var g []byte
	for i, n := range nodes {
		if !drop[i] {
			g = append(g, n.raw...)
		}
	}
	for _, raw := range inits {
		if name, _ := tensorNameOf(raw); name != nodes[0].in[0] {
			g = append(g, raw...)
		}
	}
	for _, raw := range others {
		g = append(g, raw...)
	}
	g = protowire.AppendTag(g, graphInput, protowire.BytesType)
	g = protowire.AppendBytes(g, floatInput(b.input, b.hidden))
	out := append([]byte(nil), rest...)
	out = protowire.AppendTag(out, modelGraph, protowire.BytesType)
	return b, protowire.AppendBytes(out, g), nil
}

// readEmbedding finds the initializer name among inits and keeps its rows
// as float32 (half precision widened, which is exact).
func (b *embeddingBag) readEmbedding(inits [][]byte, name string) error {
	for _, raw := range inits {
		n, _ := tensorNameOf(raw)
		if n != name {
			continue
		}
		_, val, _ := consumeField(raw)
		var dims []int64
		var dtype int64
		var data []byte
		err := eachField(val, func(num protowire.Number, raw, v []byte) error {
			switch num {
			case tensorDims:
				d, err := varints(raw)
				dims = append(dims, d...)
				return err
			case tensorDataType:
				d, err := varints(raw)
				if len(d) == 1 {
					dtype = d[0]
				}
				return err
			case tensorRawData:
				data = v
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(dims) != 2 || data == nil {
			return errNotBag // weights not stored as raw data: not the exporter's layout
		}
		b.hidden = int(dims[1])
		switch dtype {
		case onnxFloat:
			if len(data) != 4*int(dims[0]*dims[1]) {
				return fmt.Errorf("embedding %s: %d bytes for %v float32", name, len(data), dims)
			}
			b.emb = make([]float32, dims[0]*dims[1])
			for i := range b.emb {
				b.emb[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			}
		case onnxFloat16:
			if len(data) != 2*int(dims[0]*dims[1]) {
				return fmt.Errorf("embedding %s: %d bytes for %v float16", name, len(data), dims)
			}
			b.emb = make([]float32, dims[0]*dims[1])
			for i := range b.emb {
				b.emb[i] = halfToFloat(binary.LittleEndian.Uint16(data[2*i:]))
			}
		default:
			return errNotBag
		}
		return nil
	}
	return errNotBag
}

// axesAreOne reports a ReduceSum axes input that is the constant [1]
// (a Constant node's value or an initializer).
func axesAreOne(nodes []node, inits [][]byte, name string) bool {
	for _, raw := range inits {
		if n, _ := tensorNameOf(raw); n == name {
			return int64TensorIsOne(raw)
		}
	}
	for _, n := range nodes {
		if n.op == "Constant" && len(n.out) == 1 && n.out[0] == name {
			_, val, _ := consumeField(n.raw)
			one := false
			eachField(val, func(num protowire.Number, raw, v []byte) error {
				if num == nodeAttribute {
					eachField(v, func(num protowire.Number, raw, t []byte) error {
						if num == 5 { // AttributeProto.t
							one = int64TensorIsOne(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), t))
						}
						return nil
					})
				}
				return nil
			})
			return one
		}
	}
	return false
}

// int64TensorIsOne reports an encoded TensorProto field holding the INT64 [1].
func int64TensorIsOne(raw []byte) bool {
	_, val, err := consumeField(raw)
	if err != nil {
		return false
	}
	var data []byte
	var ints []int64
	eachField(val, func(num protowire.Number, raw, v []byte) error {
		switch num {
		case tensorRawData:
			data = v
		case 7: // int64_data
			d, _ := varints(raw)
			ints = append(ints, d...)
		}
		return nil
	})
	if len(data) == 8 {
		ints = []int64{int64(binary.LittleEndian.Uint64(data))}
	}
	return len(ints) == 1 && ints[0] == 1
}

func parseNode(val []byte) (node, error) {
	n := node{keep: 1}
	err := eachField(val, func(num protowire.Number, raw, v []byte) error {
		switch num {
		case nodeInput:
			n.in = append(n.in, string(v))
		case nodeOutput:
			n.out = append(n.out, string(v))
		case nodeOpType:
			n.op = string(v)
		case nodeAttribute:
			var name string
			var i int64
			eachField(v, func(num protowire.Number, raw, a []byte) error {
				switch num {
				case attrName:
					name = string(a)
				case attrInt:
					d, _ := varints(raw)
					if len(d) == 1 {
						i = d[0]
					}
				}
				return nil
			})
			if name == "keepdims" {
				n.keep = i
			}
		}
		return nil
	})
	return n, err
}

func tensorNameOf(raw []byte) (string, error) {
	_, val, err := consumeField(raw)
	if err != nil {
		return "", err
	}
	var name string
	err = eachField(val, func(num protowire.Number, raw, v []byte) error {
		if num == tensorName {
			name = string(v)
		}
		return nil
	})
	return name, err
}

// floatInput encodes a ValueInfoProto: name, FLOAT tensor of shape [N, hidden].
func floatInput(name string, hidden int) []byte {
	var dimN, dimH, shape, tensor, typ, vi []byte
	dimN = protowire.AppendTag(dimN, 2, protowire.BytesType) // dim_param
	dimN = protowire.AppendString(dimN, "N")
	dimH = protowire.AppendTag(dimH, 1, protowire.VarintType) // dim_value
	dimH = protowire.AppendVarint(dimH, uint64(hidden))
	for _, d := range [][]byte{dimN, dimH} {
		shape = protowire.AppendTag(shape, 1, protowire.BytesType)
		shape = protowire.AppendBytes(shape, d)
	}
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType) // elem_type
	tensor = protowire.AppendVarint(tensor, onnxFloat)
	tensor = protowire.AppendTag(tensor, 2, protowire.BytesType) // shape
	tensor = protowire.AppendBytes(tensor, shape)
	typ = protowire.AppendTag(typ, 1, protowire.BytesType) // tensor_type
	typ = protowire.AppendBytes(typ, tensor)
	vi = protowire.AppendTag(vi, 1, protowire.BytesType) // name
	vi = protowire.AppendString(vi, name)
	vi = protowire.AppendTag(vi, 2, protowire.BytesType) // type
	return protowire.AppendBytes(vi, typ)
}

// takeField splits msg into the value of its (single) field num and the
// encoding of every other field.
func takeField(msg []byte, num protowire.Number) (val, rest []byte, err error) {
	found := false
	err = eachField(msg, func(n protowire.Number, raw, v []byte) error {
		if n == num && !found {
			val, found = v, true
		} else {
			rest = append(rest, raw...)
		}
		return nil
	})
	if err == nil && !found {
		err = errNotBag
	}
	return val, rest, err
}

// eachField calls fn with each field's number, its whole encoding and, for
// length-delimited fields, its value.
func eachField(msg []byte, fn func(num protowire.Number, raw, val []byte) error) error {
	for len(msg) > 0 {
		num, val, n := consumeRaw(msg)
		if n < 0 {
			return fmt.Errorf("onnx: %w", protowire.ParseError(n))
		}
		if err := fn(num, msg[:n], val); err != nil {
			return err
		}
		msg = msg[n:]
	}
	return nil
}

// consumeField reads the first field of raw (one field's encoding).
func consumeField(raw []byte) (protowire.Number, []byte, error) {
	num, val, n := consumeRaw(raw)
	if n < 0 {
		return 0, nil, fmt.Errorf("onnx: %w", protowire.ParseError(n))
	}
	return num, val, nil
}

// consumeRaw reads one field: its number, its value when length-delimited,
// and its encoded length (negative on error).
func consumeRaw(msg []byte) (protowire.Number, []byte, int) {
	num, typ, n := protowire.ConsumeTag(msg)
	if n < 0 {
		return 0, nil, n
	}
	var val []byte
	m := 0
	if typ == protowire.BytesType {
		val, m = protowire.ConsumeBytes(msg[n:])
	} else {
		m = protowire.ConsumeFieldValue(num, typ, msg[n:])
	}
	if m < 0 {
		return 0, nil, m
	}
	return num, val, n + m
}

// varints reads a varint field's value, or a packed list of them.
func varints(raw []byte) ([]int64, error) {
	_, typ, n := protowire.ConsumeTag(raw)
	if n < 0 {
		return nil, protowire.ParseError(n)
	}
	b := raw[n:]
	if typ == protowire.VarintType {
		v, m := protowire.ConsumeVarint(b)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		return []int64{int64(v)}, nil
	}
	packed, m := protowire.ConsumeBytes(b)
	if m < 0 {
		return nil, protowire.ParseError(m)
	}
	var out []int64
	for len(packed) > 0 {
		v, k := protowire.ConsumeVarint(packed)
		if k < 0 {
			return nil, protowire.ParseError(k)
		}
		out = append(out, int64(v))
		packed = packed[k:]
	}
	return out, nil
}
