package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/fenzhen/fenzhen/imaging/dicom"
)

// Limits bound what Decode accepts.
type Limits struct {
	// MaxBytes is the largest encoded body (and inflated DICOM pixel data).
	MaxBytes int64
	// MaxPixels is the largest width×height of a decoded image.
	MaxPixels int64
	// MaxSide is the largest width or height.
	MaxSide int
	// MaxDecoded bounds the raw pixel bytes a DICOM file declares
	// (Rows×Columns×Frames×Samples×BitsAllocated/8), compressed or not.
	MaxDecoded int64
	// MaxParts is the most multipart parts ReadRequest reads looking for
	// the "image" field; each costs a header parse, so a body of many tiny
	// parts is refused rather than walked.
	MaxParts int
}

// DefaultLimits:
// 20 MiB bodies, 40 megapixels, 16384 pixels a side, 256 MiB of declared DICOM pixel data, 8 multipart parts.
var DefaultLimits = Limits{MaxBytes: 20 << 20, MaxPixels: 40_000_000, MaxSide: 16384, MaxDecoded: 256 << 20, MaxParts: 8}

func (l Limits) orDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultLimits.MaxPixels
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultLimits.MaxSide
	}
	if l.MaxDecoded <= 0 {
		l.MaxDecoded = DefaultLimits.MaxDecoded
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultLimits.MaxParts
	}
	return l
}

// Formats reported in Image.Format and the response's input.format.
const (
	FormatPNG   = "png"
	FormatJPEG  = "jpeg"
	FormatDICOM = "dicom"
)

// Image is a decoded image in 8 bits per sample, row-major, channels
// interleaved. Width and Height are after EXIF orientation.
type Image struct {
	Format   string // png, jpeg or dicom
	Width    int
	Height   int
	Channels int     // 1 (grey) or 3 (RGB)
	Pix      []uint8 // Width*Height*Channels bytes
	// Modality is the DICOM Modality (CR, DX, CT…); empty for PNG and JPEG.
	Modality string
}

// Sniff names the format of data from its magic bytes: png, jpeg, dicom, or
// "" with a description of what it looks like instead.
func Sniff(data []byte) (format, other string) {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG, ""
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return FormatJPEG, ""
	case dicom.Sniff(data):
		return FormatDICOM, ""
	case bytes.HasPrefix(data, []byte("GIF8")):
		return "", "a GIF image"
	case bytes.HasPrefix(data, []byte("BM")):
		return "", "a BMP image"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "", "a TIFF image"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "", "a WebP image"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		return "", "an HEIF/HEIC or MP4 file"
	case bytes.HasPrefix(data, []byte("%PDF")):
		return "", "a PDF document"
	}
	return "", http.DetectContentType(data)
}

// ReadRequest reads the image of an HTTP request: a multipart/form-data body
// with a file field "image", or a raw body. The body should already be
// bounded by the server (http.MaxBytesReader); ReadRequest bounds it again
// by lim.MaxBytes.
func ReadRequest(req *http.Request, lim Limits) (*Image, error) {
	lim = lim.orDefault()
	mediaType, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mediaType == "multipart/form-data" {
		if params["boundary"] == "" {
			return nil, fmt.Errorf("%w: multipart/form-data without a boundary", ErrUnsupportedMedia)
		}
		mr := multipart.NewReader(req.Body, params["boundary"])
		for n := 1; ; n++ {
			if n > lim.MaxParts {
				return nil, fmt.Errorf("%w: multipart body has more than %d parts before the \"image\" field", ErrTooLarge, lim.MaxParts)
			}
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, fmt.Errorf("%w: multipart body has no file field \"image\"", ErrUnsupportedMedia)
			}
			if err != nil {
				if isTooLarge(err) {
					return nil, fmt.Errorf("%w: body exceeds the limit", ErrTooLarge)
				}
				return nil, fmt.Errorf("%w: multipart body: %v", ErrCorrupt, err)
			}
			if part.FormName() != "image" {
				part.Close()
				continue
			}
			img, err := Decode(part, part.Header.Get("Content-Type"), lim)
			part.Close()
			return img, err
		}
	}
	return Decode(req.Body, req.Header.Get("Content-Type"), lim)
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// Decode reads at most lim.MaxBytes from r and decodes it. contentType is
// the declared type; the format is sniffed from the content, and content
// that is PNG, JPEG or DICOM is decoded whatever was declared. Anything else
// fails with ErrUnsupportedMedia.
func Decode(r io.Reader, contentType string, lim Limits) (*Image, error) {
	lim = lim.orDefault()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		if isTooLarge(err) {
			return nil, fmt.Errorf("%w: body exceeds the limit", ErrTooLarge)
		}
		return nil, fmt.Errorf("%w: reading the body: %v", ErrCorrupt, err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	return DecodeBytes(data, contentType, lim)
}

// DecodeBytes is Decode for a body already in memory.
func DecodeBytes(data []byte, contentType string, lim Limits) (*Image, error) {
	lim = lim.orDefault()
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: body of %d bytes exceeds %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty body; send a PNG, JPEG or DICOM image", ErrUnsupportedMedia)
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	format, other := Sniff(data)
	if format == "" && mediaType == "application/dicom" {
		// A bare DICOM data set without the Part 10 preamble.
		format = FormatDICOM
	}
	switch format {
	case FormatPNG, FormatJPEG:
		return decodeRaster(data, format, lim)
	case FormatDICOM:
		return decodeDICOM(data, lim)
	}
	declared := mediaType
	if declared == "" {
		declared = "no Content-Type"
	}
	if i := strings.IndexByte(other, ';'); i >= 0 {
		other = other[:i]
	}
	return nil, fmt.Errorf("%w: the body (%s) is %s, not a PNG, JPEG or DICOM image", ErrUnsupportedMedia, declared, other)
}

func decodeRaster(data []byte, format string, lim Limits) (*Image, error) {
	var (
		cfg image.Config
		err error
	)
	if format == FormatPNG {
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	} else {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return nil, rasterError(format, err)
	}
	if err := checkSize(cfg.Width, cfg.Height, lim); err != nil {
		return nil, err
	}
	var m image.Image
	if format == FormatPNG {
		m, err = png.Decode(bytes.NewReader(data))
	} else {
		m, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, rasterError(format, err)
	}
	img := fromImage(m)
	img.Format = format
	if format == FormatJPEG {
		if o := exifOrientation(data); o > 1 {
			img = orient(img, o)
		}
	}
	return img, nil
}

func checkSize(w, h int, lim Limits) error {
	if w < 1 || h < 1 {
		return fmt.Errorf("%w: image is %d×%d", ErrCorrupt, w, h)
	}
	if w > lim.MaxSide || h > lim.MaxSide {
		return fmt.Errorf("%w: %d×%d exceeds the %d-pixel side limit", ErrTooLarge, w, h, lim.MaxSide)
	}
	if int64(w)*int64(h) > lim.MaxPixels {
		return fmt.Errorf("%w: %d×%d = %d pixels exceeds the limit of %d", ErrTooLarge, w, h, int64(w)*int64(h), lim.MaxPixels)
	}
	return nil
}

func rasterError(format string, err error) error {
	var (
		pu png.UnsupportedError
		ju jpeg.UnsupportedError
	)
	if errors.As(err, &pu) || errors.As(err, &ju) {
		return fmt.Errorf("%w: %s: %v", ErrUnsupportedMedia, format, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s is truncated", ErrCorrupt, format)
	}
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, format, err)
}

// fromImage converts a decoded image to 8-bit grey or RGB. Alpha is
// composited over black (the colour channels are taken premultiplied).
func fromImage(m image.Image) *Image {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	img := &Image{Width: w, Height: h}
	switch m := m.(type) {
	case *image.Gray:
		img.Channels = 1
		img.Pix = make([]uint8, w*h)
		for y := 0; y < h; y++ {
			copy(img.Pix[y*w:(y+1)*w], m.Pix[y*m.Stride:])
		}
		return img
	case *image.Gray16:
		img.Channels = 1
		img.Pix = make([]uint8, w*h)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				img.Pix[y*w+x] = row[2*x] // high byte
			}
		}
		return img
	}
	img.Channels = 3
	img.Pix = make([]uint8, w*h*3)
	i := 0
	switch m := m.(type) {
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i += 3
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				copy(img.Pix[i:i+3], row[4*x:4*x+3])
				i += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := m.At(x, y).RGBA()
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
				i += 3
			}
		}
	}
	return img
}

func decodeDICOM(data []byte, lim Limits) (*Image, error) {
	d, err := dicom.Decode(data, dicom.Limits{MaxPixels: lim.MaxPixels, MaxSide: lim.MaxSide, MaxBytes: lim.MaxDecoded})
	if err != nil {
		switch {
		case errors.Is(err, dicom.ErrTooLarge):
			return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
		case errors.Is(err, dicom.ErrUnsupported):
			return nil, fmt.Errorf("%w: %v", ErrUnsupportedMedia, err)
		default:
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return &Image{Format: FormatDICOM, Width: d.Columns, Height: d.Rows, Channels: d.Channels, Pix: d.Pix, Modality: d.Modality}, nil
}
