// Package npy reads NumPy .npy arrays and .npz archives (zip files of .npy),
// the format the training data sets are distributed in. Only C-order arrays
// of fixed-size numeric dtypes are supported; sizes are checked against the
// data before anything is allocated.
package npy

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Array is one n-dimensional array with its raw little-endian data.
type Array struct {
	Descr string // NumPy dtype string, e.g. "|u1", "<i8", "<f4"
	Shape []int
	Data  []byte
}

// Len is the number of elements.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

var itemSizes = map[string]int{
	"|u1": 1, "|i1": 1, "|b1": 1, "u1": 1, "i1": 1, "b1": 1,
	"<u2": 2, "<i2": 2, "<u4": 4, "<i4": 4, "<u8": 8, "<i8": 8, "<f4": 4, "<f8": 8,
}

// Ints returns the elements as ints (integer and bool dtypes).
func (a *Array) Ints() ([]int, error) {
	n := a.Len()
	out := make([]int, n)
	for i := 0; i < n; i++ {
		switch a.Descr {
		case "|u1", "u1", "|b1", "b1":
			out[i] = int(a.Data[i])
		case "|i1", "i1":
			out[i] = int(int8(a.Data[i]))
		case "<u2":
			out[i] = int(binary.LittleEndian.Uint16(a.Data[2*i:]))
		case "<i2":
			out[i] = int(int16(binary.LittleEndian.Uint16(a.Data[2*i:])))
		case "<u4":
			out[i] = int(binary.LittleEndian.Uint32(a.Data[4*i:]))
		case "<i4":
			out[i] = int(int32(binary.LittleEndian.Uint32(a.Data[4*i:])))
		case "<i8", "<u8":
			out[i] = int(int64(binary.LittleEndian.Uint64(a.Data[8*i:])))
		default:
			return nil, fmt.Errorf("npy: dtype %s is not an integer type", a.Descr)
		}
	}
	return out, nil
}

// Float32s returns the elements of a <f4 array.
func (a *Array) Float32s() ([]float32, error) {
	if a.Descr != "<f4" {
		return nil, fmt.Errorf("npy: dtype %s is not <f4", a.Descr)
	}
	out := make([]float32, a.Len())
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
	}
	return out, nil
}

// Read parses one .npy stream. size is the number of bytes available
// (-1 if unknown); the declared array must fit in it.
func Read(r io.Reader, size int64) (*Array, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("npy: header: %w", err)
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, errors.New("npy: not a .npy file (bad magic)")
	}
	var hlen int
	consumed := int64(10)
	switch pre[6] {
	case 1:
		hlen = int(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, fmt.Errorf("npy: header: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(append(pre[8:10:10], ext[:]...)))
		consumed += 2
	default:
		return nil, fmt.Errorf("npy: format version %d.%d", pre[6], pre[7])
	}
	if hlen > 1<<20 || (size >= 0 && int64(hlen)+consumed > size) {
		return nil, fmt.Errorf("npy: header length %d is implausible", hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("npy: header: %w", err)
	}
	consumed += int64(hlen)
	a, err := parseHeader(string(hdr))
	if err != nil {
		return nil, err
	}
	item := itemSizes[a.Descr]
	n := int64(1)
	for _, d := range a.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/int64(d)) {
			return nil, fmt.Errorf("npy: shape %v is too large", a.Shape)
		}
		n *= int64(d)
	}
	nbytes := n * int64(item)
	if size >= 0 && nbytes > size-consumed {
		return nil, fmt.Errorf("npy: shape %v of %s needs %d bytes, only %d remain", a.Shape, a.Descr, nbytes, size-consumed)
	}
	if nbytes > 4<<30 {
		return nil, fmt.Errorf("npy: array of %d bytes is too large", nbytes)
	}
	a.Data = make([]byte, nbytes)
	if _, err := io.ReadFull(r, a.Data); err != nil {
		return nil, fmt.Errorf("npy: data: %w", err)
	}
	return a, nil
}

// parseHeader reads the Python dict literal
// {'descr': '|u1', 'fortran_order': False, 'shape': (624, 28, 28), }.
func parseHeader(h string) (*Array, error) {
	field := func(key string) (string, error) {
		i := strings.Index(h, "'"+key+"'")
		if i < 0 {
			return "", fmt.Errorf("npy: header has no %q: %q", key, h)
		}
		rest := strings.TrimSpace(h[i+len(key)+2:])
		if !strings.HasPrefix(rest, ":") {
			return "", fmt.Errorf("npy: bad header %q", h)
		}
		return strings.TrimSpace(rest[1:]), nil
	}
	a := &Array{}
	d, err := field("descr")
	if err != nil {
		return nil, err
	}
	if len(d) < 2 || d[0] != '\'' || strings.IndexByte(d[1:], '\'') < 0 {
		return nil, fmt.Errorf("npy: descr %q is not a simple dtype", d)
	}
	a.Descr = d[1 : 1+strings.IndexByte(d[1:], '\'')]
	if _, ok := itemSizes[a.Descr]; !ok {
		return nil, fmt.Errorf("npy: dtype %q is not supported", a.Descr)
	}
	f, err := field("fortran_order")
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(f, "True") {
		return nil, errors.New("npy: Fortran-order arrays are not supported")
	}
	s, err := field("shape")
	if err != nil {
		return nil, err
	}
	end := strings.IndexByte(s, ')')
	if !strings.HasPrefix(s, "(") || end < 0 {
		return nil, fmt.Errorf("npy: shape %q", s)
	}
	for _, p := range strings.Split(s[1:end], ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(p, "L"))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("npy: shape %q", s)
		}
		a.Shape = append(a.Shape, v)
	}
	return a, nil
}

// ReadNPZ reads the named arrays of an .npz file ("train_images" for
// train_images.npy); with no names it reads all of them.
func ReadNPZ(path string, names ...string) (map[string]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("npz %s: %w", path, err)
	}
	defer zr.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]*Array{}
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		if len(want) > 0 && !want[name] {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("npz %s: %s: %w", path, f.Name, err)
		}
		a, err := Read(rc, int64(f.UncompressedSize64))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("npz %s: %s: %w", path, f.Name, err)
		}
		out[name] = a
	}
	for n := range want {
		if out[n] == nil {
			return nil, fmt.Errorf("npz %s: no array %q", path, n)
		}
	}
	return out, nil
}

// ReadBytes parses a .npy held in memory.
func ReadBytes(b []byte) (*Array, error) { return Read(bytes.NewReader(b), int64(len(b))) }
