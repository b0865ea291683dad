package npy

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// npyBytes writes one array in NumPy's .npy v1.0 layout: magic, version,
// a little-endian header length, the header dict padded with spaces to a
// multiple of 64 bytes and ended by a newline, then the raw data.
func npyBytes(descr, shape string, data []byte) []byte {
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	return append(append(b, hdr...), data...)
}

// writeNPZ builds the fixture np.savez would: a zip of name.npy members.
func writeNPZ(t *testing.T) string {
	t.Helper()
	img := make([]byte, 24)
	for i := range img {
		img[i] = byte(i)
	}
	var f32, i64 []byte
	for _, v := range []float32{0.5, -2} {
		f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(v))
	}
	for v := int64(-3); v <= 2; v++ {
		i64 = binary.LittleEndian.AppendUint64(i64, uint64(v))
	}
	members := []struct {
		name  string
		bytes []byte
	}{
		{"test_images", npyBytes("|u1", "(2, 3, 4)", img)},
		{"test_labels", npyBytes("<i8", "(2,)", binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 1), 0))},
		{"f", npyBytes("<f4", "(2,)", f32)},
		{"i", npyBytes("<i8", "(2, 3)", i64)},
	}
	path := filepath.Join(t.TempDir(), "small.npz")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	for _, m := range members {
		w, err := zw.Create(m.name + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.bytes)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	return path
}

func TestReadNPZ(t *testing.T) {
	npz := writeNPZ(t)
	arrs, err := ReadNPZ(npz)
	if err != nil {
		t.Fatal(err)
	}
	img := arrs["test_images"]
	if img.Descr != "|u1" || fmt.Sprint(img.Shape) != "[2 3 4]" || img.Data[23] != 23 {
		t.Errorf("test_images %s %v", img.Descr, img.Shape)
	}
	if l, _ := arrs["test_labels"].Ints(); fmt.Sprint(l) != "[1 0]" {
		t.Errorf("labels %v", l)
	}
	if f, _ := arrs["f"].Float32s(); fmt.Sprint(f) != "[0.5 -2]" {
		t.Errorf("f %v", f)
	}
	if i, _ := arrs["i"].Ints(); fmt.Sprint(i) != "[-3 -2 -1 0 1 2]" {
		t.Errorf("i %v", i)
	}
	if _, err := ReadNPZ(npz, "missing"); err == nil {
		t.Error("missing array not reported")
	}
}

func TestReadCorrupt(t *testing.T) {
	hdr := "{'descr': '|u1', 'fortran_order': False, 'shape': (100000, 100000), }"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), 0)
	b = append(b, hdr...)
	if _, err := ReadBytes(b); err == nil {
		t.Fatal("array larger than the data accepted")
	}
	for _, bad := range []string{"", "\x93NUMPY", "NOTNUMPY\x01\x00\x00\x00", "\x93NUMPY\x01\x00\xff\xff{"} {
		if _, err := ReadBytes([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSharedData(t *testing.T) {
	dir := os.Getenv("FENZHEN_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	path := filepath.Join(dir, "medmnist", "pneumoniamnist.npz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not found (set FENZHEN_DATA): %v", path, err)
	}
	arrs, err := ReadNPZ(path, "test_images", "test_labels")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(arrs["test_images"].Shape); got != "[624 28 28]" {
		t.Errorf("test_images shape %s", got)
	}
}
