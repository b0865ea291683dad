package imaging

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataDir is the shared data folder: $FENZHEN_DATA, else ../shared/data
// beside the repository root.
func dataDir(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("FENZHEN_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	p := filepath.Join(dir, sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not found (set FENZHEN_DATA to the data folder): %v", p, err)
	}
	return p
}

func readPNG(t *testing.T, path string) *Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := DecodeBytes(b, "image/png", Limits{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func comparePix(t *testing.T, got, want *Image, tol int) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height || got.Channels != want.Channels {
		t.Fatalf("got %d×%d×%d, want %d×%d×%d", got.Width, got.Height, got.Channels, want.Width, want.Height, want.Channels)
	}
	worst, at := 0, 0
	for i := range got.Pix {
		d := int(got.Pix[i]) - int(want.Pix[i])
		if d < 0 {
			d = -d
		}
		if d > worst {
			worst, at = d, i
		}
	}
	if worst > tol {
		t.Errorf("pixel %d differs by %d (got %d, want %d), tolerance %d", at, worst, got.Pix[at], want.Pix[at], tol)
	}
}

func TestDICOMFixtures(t *testing.T) {
	var cases []struct {
		Name                    string
		Width, Height, Channels int
		Modality                string
		Tolerance               int
	}
	raw, err := os.ReadFile("testdata/dicom/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			b, err := os.ReadFile("testdata/dicom/" + c.Name + ".dcm")
			if err != nil {
				t.Fatal(err)
			}
			img, err := DecodeBytes(b, "application/dicom", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if img.Format != FormatDICOM || img.Modality != c.Modality {
				t.Errorf("format %q modality %q, want dicom %q", img.Format, img.Modality, c.Modality)
			}
			want := readPNG(t, "testdata/dicom/"+c.Name+".png")
			comparePix(t, img, want, c.Tolerance)
		})
	}
}

// The pydicom test files, when the shared data folder is present.
func TestSharedDICOM(t *testing.T) {
	dir := dataDir(t, "dicom")
	cases := []struct {
		file     string
		w, h, c  int
		modality string
		err      error
	}{
		{"CT_small.dcm", 128, 128, 1, "CT", nil},
		{"MR_small.dcm", 64, 64, 1, "MR", nil},
		{"MR_small_implicit.dcm", 64, 64, 1, "MR", nil},
		{"ExplVR_BigEnd.dcm", 80, 60, 3, "US", nil},
		{"SC_rgb_rle.dcm", 100, 100, 3, "OT", nil},
		{"CR_dicomdirtests_6154.dcm", 16, 16, 1, "CR", nil},
		{"JPEG-lossy.dcm", 0, 0, 0, "", ErrUnsupportedMedia}, // 12-bit JPEG extended
		{"JPEG2000.dcm", 0, 0, 0, "", ErrUnsupportedMedia},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			img, err := DecodeBytes(b, "application/dicom", Limits{})
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Width != c.w || img.Height != c.h || img.Channels != c.c || img.Modality != c.modality {
				t.Errorf("got %d×%d×%d %s, want %d×%d×%d %s", img.Width, img.Height, img.Channels, img.Modality, c.w, c.h, c.c, c.modality)
			}
			lo, hi := uint8(255), uint8(0)
			for _, v := range img.Pix {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi-lo < 50 {
				t.Errorf("rendered range %d..%d looks flat", lo, hi)
			}
		})
	}
}

func TestEXIFOrientation(t *testing.T) {
	for o := 1; o <= 8; o++ {
		name := filepath.Join("testdata", "exif", "o"+string(rune('0'+o)))
		b, err := os.ReadFile(name + ".jpg")
		if err != nil {
			t.Fatal(err)
		}
		if got := exifOrientation(b); got != o {
			t.Errorf("o%d: exifOrientation = %d", o, got)
		}
		img, err := DecodeBytes(b, "image/jpeg", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		want := readPNG(t, name+".png")
		if img.Format != FormatJPEG {
			t.Errorf("format %q", img.Format)
		}
		t.Run(filepath.Base(name), func(t *testing.T) { comparePix(t, img, want, 12) })
	}
}

// crafted PNG: signature + IHDR claiming w×h, then nothing.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	var okPNG bytes.Buffer
	png.Encode(&okPNG, image.NewGray(image.Rect(0, 0, 8, 8)))
	ct, _ := os.ReadFile("testdata/dicom/ct_s16_rescale_window.dcm")
	rle, _ := os.ReadFile("testdata/dicom/rle_u16.dcm")
	jpg, _ := os.ReadFile("testdata/exif/o1.jpg")
	corruptRLE := bytes.Clone(rle)
	for i := len(corruptRLE) - 200; i < len(corruptRLE)-10; i++ {
		corruptRLE[i] = 0x7F // literal runs overrunning the segment
	}
	// Rows set to 0xFFFF and Columns 0xFFFF with NumberOfFrames 2000 → declared bytes far over the limit.
	big := bytes.Clone(ct)
	setUS(t, big, 0x0010, 0xFFFF)
	setUS(t, big, 0x0011, 0xFFFF)
	cases := []struct {
		name        string
		body        []byte
		contentType string
		want        error
	}{
		{"text as png", []byte("hello, this is not an image\n"), "image/png", ErrUnsupportedMedia},
		{"empty", nil, "image/png", ErrUnsupportedMedia},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), "image/jpeg", ErrUnsupportedMedia},
		{"png header 100000x100000", pngHeader(100000, 100000), "image/png", ErrTooLarge},
		{"png 20000x10 side", pngHeader(20000, 10), "image/png", ErrTooLarge},
		{"png truncated", okPNG.Bytes()[:40], "image/png", ErrCorrupt},
		{"png header only", pngHeader(10, 10), "image/png", ErrCorrupt},
		{"jpeg truncated", jpg[:len(jpg)/2], "image/jpeg", ErrCorrupt},
		{"dicom truncated in pixel data", ct[:len(ct)-100], "application/dicom", ErrCorrupt},
		{"dicom truncated in header", ct[:200], "application/dicom", ErrCorrupt},
		{"dicom magic only", ct[:132], "application/dicom", ErrCorrupt},
		{"dicom rle corrupt", corruptRLE, "application/dicom", ErrCorrupt},
		{"dicom too many pixels", big, "application/dicom", ErrTooLarge},
		{"bare dicom garbage", []byte("\x08\x00\x05\x00CS\x0a\x00ISO_IR 100"), "application/dicom", ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBytes(c.body, c.contentType, Limits{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty message")
			}
		})
	}
}

// setUS overwrites the value of an explicit-VR US element (0028,elem).
func setUS(t *testing.T, b []byte, elem uint16, v uint16) {
	t.Helper()
	tag := []byte{0x28, 0x00, byte(elem), byte(elem >> 8), 'U', 'S', 2, 0}
	i := bytes.Index(b, tag)
	if i < 0 {
		t.Fatalf("tag (0028,%04X) not found", elem)
	}
	binary.LittleEndian.PutUint16(b[i+8:], v)
}

// A header claiming 100000×100000 is refused before anything that size is allocated.
func TestTooLargeDoesNotAllocate(t *testing.T) {
	body := pngHeader(100000, 100000)
	var m0, m1 runtimeMem
	m0.read()
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := DecodeBytes(body, "image/png", Limits{}); !errors.Is(err, ErrTooLarge) {
			t.Fatal(err)
		}
	})
	m1.read()
	if per := (m1.total - m0.total) / 21; per > 1<<20 {
		t.Errorf("refusing the header allocated %d bytes per call", per)
	}
	if allocs > 100 {
		t.Errorf("%v allocations per call", allocs)
	}
}

// The declared content type does not matter when the content is one of ours.
func TestDeclaredTypeMismatch(t *testing.T) {
	jpg, _ := os.ReadFile("testdata/exif/o1.jpg")
	dcm, _ := os.ReadFile("testdata/dicom/mono2_u8.dcm")
	for _, c := range []struct {
		body   []byte
		ct     string
		format string
	}{{jpg, "image/png", FormatJPEG}, {dcm, "image/jpeg", FormatDICOM}, {jpg, "", FormatJPEG}, {dcm, "application/octet-stream", FormatDICOM}} {
		img, err := DecodeBytes(c.body, c.ct, Limits{})
		if err != nil || img.Format != c.format {
			t.Errorf("%s declared %q: %v %v", c.format, c.ct, img, err)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	_, err := Decode(bytes.NewReader(make([]byte, 2000)), "image/png", Limits{MaxBytes: 1000})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
}
