package npy

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestReadNPZ(t *testing.T) {
	arrs, err := ReadNPZ("testdata/small.npz")
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
	if _, err := ReadNPZ("testdata/small.npz", "missing"); err == nil {
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
