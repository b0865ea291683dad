package imaging

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func multipartBody(t *testing.T, field string, data []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("note", "ignored")
	w, err := mw.CreateFormFile(field, "x.dcm")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestReadRequest(t *testing.T) {
	dcm, _ := os.ReadFile("testdata/dicom/mono2_u8.dcm")
	body, ct := multipartBody(t, "image", dcm)
	req := httptest.NewRequest("POST", "/v1/imaging/chest", body)
	req.Header.Set("Content-Type", ct)
	img, err := ReadRequest(req, Limits{})
	if err != nil || img.Format != FormatDICOM || img.Width != 56 {
		t.Fatalf("multipart: %v %+v", err, img)
	}

	body, ct = multipartBody(t, "file", dcm)
	req = httptest.NewRequest("POST", "/v1/imaging/chest", body)
	req.Header.Set("Content-Type", ct)
	if _, err := ReadRequest(req, Limits{}); !errors.Is(err, ErrUnsupportedMedia) || !strings.Contains(err.Error(), `"image"`) {
		t.Fatalf("no image field: %v", err)
	}

	req = httptest.NewRequest("POST", "/v1/imaging/chest", bytes.NewReader(dcm))
	req.Header.Set("Content-Type", "application/dicom")
	if img, err := ReadRequest(req, Limits{}); err != nil || img.Modality != "CR" {
		t.Fatalf("raw: %v", err)
	}

	// A body cut by the server's http.MaxBytesReader is 413.
	rec := httptest.NewRecorder()
	req = httptest.NewRequest("POST", "/v1/imaging/chest", bytes.NewReader(dcm))
	req.Body = http.MaxBytesReader(rec, req.Body, 100)
	if _, err := ReadRequest(req, Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxBytesReader: %v", err)
	}
}

// Rows×Columns×Frames declared beyond MaxDecoded is refused before decoding.
func TestDICOMDeclaredFramesTooLarge(t *testing.T) {
	dcm, _ := os.ReadFile("testdata/dicom/multiframe_u8.dcm")
	// 24×20 bytes per frame, 3 frames: 1440 bytes.
	if _, err := DecodeBytes(dcm, "application/dicom", Limits{MaxDecoded: 1000}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if _, err := DecodeBytes(dcm, "application/dicom", Limits{MaxDecoded: 1440}); err != nil {
		t.Fatal(err)
	}
}

// A bare data set (no preamble, no file meta) is read when declared as DICOM.
func TestBareDICOM(t *testing.T) {
	for _, name := range []string{"mono2_u8", "implicit_u16"} {
		dcm, _ := os.ReadFile("testdata/dicom/" + name + ".dcm")
		// Skip preamble, DICM and the file meta group (group length + its value).
		metaLen := int(dcm[140]) | int(dcm[141])<<8 | int(dcm[142])<<16 | int(dcm[143])<<24
		bare := dcm[144+metaLen:]
		img, err := DecodeBytes(bare, "application/dicom", Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := readPNG(t, "testdata/dicom/"+name+".png")
		comparePix(t, img, want, 0)
		if _, err := DecodeBytes(bare, "image/png", Limits{}); !errors.Is(err, ErrUnsupportedMedia) {
			t.Errorf("%s: bare data set declared image/png: %v", name, err)
		}
	}
}

// A multipart body is read part by part only up to MaxParts.
func TestReadRequestPartLimit(t *testing.T) {
	dcm, _ := os.ReadFile("testdata/dicom/mono2_u8.dcm")
	build := func(fillers int) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for range fillers {
			mw.WriteField("note", "x")
		}
		w, _ := mw.CreateFormFile("image", "x.dcm")
		w.Write(dcm)
		mw.Close()
		return &b, mw.FormDataContentType()
	}
	for _, c := range []struct {
		fillers, max int
		tooLarge     bool
	}{
		{0, 1, false},
		{3, 4, false},
		{4, 4, true},
		{7, 0, false}, // the default allows 8 parts
		{8, 0, true},
		{1000, 0, true},
	} {
		body, ct := build(c.fillers)
		req := httptest.NewRequest("POST", "/v1/imaging/chest", body)
		req.Header.Set("Content-Type", ct)
		img, err := ReadRequest(req, Limits{MaxParts: c.max})
		if c.tooLarge {
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "parts") {
				t.Errorf("%d fillers, max %d: %v, want ErrTooLarge", c.fillers, c.max, err)
			}
		} else if err != nil || img.Width != 56 {
			t.Errorf("%d fillers, max %d: %v", c.fillers, c.max, err)
		}
	}
}
