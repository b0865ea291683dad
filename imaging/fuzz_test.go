package imaging

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fenzhen/fenzhen/imaging/dicom"
)

// fuzzLimits keep fuzzing fast: small images only.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxSide: 4096, MaxDecoded: 8 << 20}

func addSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
}

// FuzzDecode: any body decodes or fails with one of the sentinels; never a
// panic, never an image over the limits or with an inconsistent buffer.
func FuzzDecode(f *testing.F) {
	addSeeds(f, "testdata/dicom/*.dcm", "testdata/exif/*.jpg", "testdata/parity/*.png")
	f.Add([]byte("not an image"))
	f.Add(pngHeader(100000, 100000))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ct := range []string{"application/dicom", "image/png"} {
			img, err := DecodeBytes(b, ct, fuzzLimits)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedMedia) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				continue
			}
			if img.Channels != 1 && img.Channels != 3 || len(img.Pix) != img.Width*img.Height*img.Channels ||
				int64(img.Width)*int64(img.Height) > fuzzLimits.MaxPixels {
				t.Fatalf("bad image %d×%d×%d with %d bytes", img.Width, img.Height, img.Channels, len(img.Pix))
			}
		}
	})
}

// FuzzDICOM drives the DICOM reader directly.
func FuzzDICOM(f *testing.F) {
	addSeeds(f, "testdata/dicom/*.dcm")
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := dicom.Decode(b, dicom.Limits{MaxPixels: 1 << 20, MaxSide: 4096, MaxBytes: 8 << 20})
		if err != nil {
			if !errors.Is(err, dicom.ErrCorrupt) && !errors.Is(err, dicom.ErrUnsupported) && !errors.Is(err, dicom.ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(d.Pix) != d.Rows*d.Columns*d.Channels {
			t.Fatalf("%d bytes for %d×%d×%d", len(d.Pix), d.Columns, d.Rows, d.Channels)
		}
	})
}
