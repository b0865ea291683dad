package dicom

import (
	"errors"
	"testing"
)

func TestUnpackBits(t *testing.T) {
	cases := []struct {
		src  []byte
		n    int
		want string
		err  bool
	}{
		{[]byte{2, 'a', 'b', 'c'}, 3, "abc", false},
		{[]byte{0xFE, 'x'}, 3, "xxx", false},        // -2: repeat 3 times
		{[]byte{0x80, 1, 'a', 'b'}, 2, "ab", false}, // -128 is a no-op
		{[]byte{0xFE, 'x', 0, 'y'}, 4, "xxxy", false},
		{[]byte{5, 'a'}, 6, "", true},    // literal overruns the source
		{[]byte{0x81, 'x'}, 3, "", true}, // 128 repeats overrun the output
		{[]byte{0, 'a'}, 2, "", true},    // too short
	}
	for _, c := range cases {
		dst := make([]byte, c.n)
		err := unpackBits(c.src, dst)
		if (err != nil) != c.err || (!c.err && string(dst) != c.want) {
			t.Errorf("unpackBits(%v) = %q, %v", c.src, dst, err)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("error %v is not ErrCorrupt", err)
		}
	}
}

// An element whose length exceeds the input fails cleanly.
func TestLengthBeyondInput(t *testing.T) {
	b := make([]byte, 132)
	copy(b[128:], "DICM")
	b = append(b, 0x02, 0x00, 0x10, 0x00, 'U', 'I', 20, 0)
	b = append(b, "1.2.840.10008.1.2.1\x00"...)
	b = append(b, 0x08, 0x00, 0x60, 0x00, 'C', 'S', 0xFF, 0xFF, 'C', 'T') // claims 65535 bytes
	if _, err := Decode(b, Limits{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
	// Unknown compressed transfer syntax → ErrUnsupported.
	u := append([]byte{}, b[:132]...)
	u = append(u, 0x02, 0x00, 0x10, 0x00, 'U', 'I', 22, 0)
	u = append(u, "1.2.840.10008.1.2.4.80\x00\x00"[:22]...)
	if _, err := Decode(u, Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("JPEG-LS: err = %v", err)
	}
}
