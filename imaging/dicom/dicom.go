// Package dicom reads the pixels of one DICOM image: a compact, bounded
// reader for the subset of PS3.5/PS3.10 a classification service needs.
//
// Supported: the Part 10 preamble + "DICM" (or a bare data set), the file
// meta group, implicit VR little endian, explicit VR little endian, deflated
// explicit VR little endian and explicit VR big endian; defined and undefined
// lengths; sequences (skipped); native pixel data of 8, 16 or 32 bits,
// signed or unsigned, with BitsStored/HighBit; encapsulated JPEG baseline
// (via image/jpeg) and RLE Lossless. JPEG lossless, JPEG-LS, JPEG 2000 and
// other compressed syntaxes fail with ErrUnsupported.
//
// Every length read from the input is checked against the bytes that remain,
// so a corrupt file fails with ErrCorrupt instead of allocating or panicking,
// and the declared image size is checked against Limits before any pixel
// buffer is made.
package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Errors returned by Decode, wrapped with detail. The imaging package maps
// them to its own sentinels (422, 415, 413).
var (
	ErrCorrupt     = errors.New("corrupt DICOM")
	ErrUnsupported = errors.New("unsupported DICOM")
	ErrTooLarge    = errors.New("DICOM image too large")
)

// Transfer syntax UIDs this package knows by name.
const (
	ImplicitVRLittleEndian         = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian         = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian            = "1.2.840.10008.1.2.2"
	JPEGBaseline                   = "1.2.840.10008.1.2.4.50"
	JPEGExtended                   = "1.2.840.10008.1.2.4.51"
	RLELossless                    = "1.2.840.10008.1.2.5"
)

var syntaxNames = map[string]string{
	"1.2.840.10008.1.2.4.51":  "JPEG Extended (12-bit)",
	"1.2.840.10008.1.2.4.57":  "JPEG Lossless",
	"1.2.840.10008.1.2.4.70":  "JPEG Lossless SV1",
	"1.2.840.10008.1.2.4.80":  "JPEG-LS Lossless",
	"1.2.840.10008.1.2.4.81":  "JPEG-LS Near-Lossless",
	"1.2.840.10008.1.2.4.90":  "JPEG 2000 Lossless",
	"1.2.840.10008.1.2.4.91":  "JPEG 2000",
	"1.2.840.10008.1.2.4.92":  "JPEG 2000 Part 2 Lossless",
	"1.2.840.10008.1.2.4.93":  "JPEG 2000 Part 2",
	"1.2.840.10008.1.2.4.100": "MPEG2",
	"1.2.840.10008.1.2.4.102": "MPEG-4",
	"1.2.840.10008.1.2.4.201": "HTJ2K Lossless",
	"1.2.840.10008.1.2.4.203": "HTJ2K",
}

// Limits bound what Decode accepts. Zero fields mean "no limit".
type Limits struct {
	MaxPixels int64 // Rows*Columns of one frame
	MaxSide   int   // Rows and Columns each
	MaxBytes  int64 // Rows*Columns*Frames*SamplesPerPixel*BitsAllocated/8, and inflated size
}

// Image is the first frame of a DICOM image, rendered to 8 bits for display:
// the modality LUT (rescale slope/intercept), then the VOI window (Window
// Center/Width when present, else the frame's min..max), then MONOCHROME1
// inverted so that higher always means brighter.
type Image struct {
	Rows, Columns   int
	Frames          int
	Modality        string
	Photometric     string
	TransferSyntax  string
	BitsAllocated   int
	BitsStored      int
	Signed          bool
	SamplesPerPixel int
	// Channels is 1 (grey) or 3 (RGB); Pix holds Rows*Columns*Channels bytes,
	// row-major with channels interleaved.
	Channels int
	Pix      []uint8
}

// MaxDepth bounds sequence nesting.
const maxDepth = 16

// Sniff reports whether data starts like a DICOM Part 10 file.
func Sniff(data []byte) bool {
	return len(data) >= 132 && string(data[128:132]) == "DICM"
}

type header struct {
	ts                  string
	modality            string
	photometric         string
	rows, cols          int
	frames              int
	spp                 int
	planar              int
	bitsAlloc, bitsStrd int
	highBit             int
	pixelRep            int
	hasHighBit          bool
	windowCenter        float64
	windowWidth         float64
	hasWindow           bool
	slope, intercept    float64
	pixel               []byte // native pixel data value
	fragments           [][]byte
	offsets             []uint32 // basic offset table
	encapsulated        bool
	seen                map[uint32]bool
	littleNative        bool // decoded RLE output is little endian whatever the syntax
}

// Decode parses a DICOM file and renders its first frame.
func Decode(data []byte, lim Limits) (*Image, error) {
	h := &header{slope: 1, frames: 1, spp: 1, seen: map[uint32]bool{}}
	var body []byte
	if Sniff(data) {
		rest, err := h.readMeta(data[132:])
		if err != nil {
			return nil, err
		}
		body = rest
	} else {
		// A bare data set (no preamble, no meta): guess the syntax from the
		// first element, which must be a group 0008 or later tag.
		if len(data) < 8 {
			return nil, fmt.Errorf("%w: %d bytes is too short for a DICOM data set", ErrCorrupt, len(data))
		}
		if isVR(data[4], data[5]) {
			h.ts = ExplicitVRLittleEndian
		} else {
			h.ts = ImplicitVRLittleEndian
		}
		body = data
	}
	r := reader{order: binary.LittleEndian, explicit: true}
	switch h.ts {
	case ImplicitVRLittleEndian:
		r.explicit = false
	case ExplicitVRLittleEndian, JPEGBaseline, JPEGExtended, RLELossless:
	case ExplicitVRBigEndian:
		r.order = binary.BigEndian
	case DeflatedExplicitVRLittleEndian:
		inflated, err := inflate(body, lim.MaxBytes)
		if err != nil {
			return nil, err
		}
		body = inflated
	default:
		if name, ok := syntaxNames[h.ts]; ok {
			return nil, fmt.Errorf("%w: transfer syntax %s (%s) is not supported; send uncompressed, JPEG baseline or RLE DICOM, or a PNG/JPEG", ErrUnsupported, name, h.ts)
		}
		if strings.HasPrefix(h.ts, "1.2.840.10008.1.2.4.") {
			return nil, fmt.Errorf("%w: compressed transfer syntax %s is not supported", ErrUnsupported, h.ts)
		}
		return nil, fmt.Errorf("%w: unknown transfer syntax %q", ErrUnsupported, h.ts)
	}
	r.buf = body
	if err := h.readDataset(&r); err != nil {
		return nil, err
	}
	return h.render(lim)
}

func inflate(b []byte, max int64) ([]byte, error) {
	if max <= 0 {
		max = 1 << 30
	}
	fr := flate.NewReader(bytes.NewReader(b))
	defer fr.Close()
	out, err := io.ReadAll(io.LimitReader(fr, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: deflated data set: %v", ErrCorrupt, err)
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("%w: deflated data set inflates beyond %d bytes", ErrTooLarge, max)
	}
	return out, nil
}

func isVR(a, b byte) bool { return a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z' }

// reader walks elements in a byte slice.
type reader struct {
	buf      []byte
	pos      int
	order    binary.ByteOrder
	explicit bool
}

func (r *reader) remaining() int { return len(r.buf) - r.pos }

func (r *reader) need(n int, what string) error {
	if n < 0 || n > r.remaining() {
		return fmt.Errorf("%w: %s needs %d bytes at offset %d but only %d remain", ErrCorrupt, what, n, r.pos, r.remaining())
	}
	return nil
}

func (r *reader) u16() uint16 { v := r.order.Uint16(r.buf[r.pos:]); r.pos += 2; return v }
func (r *reader) u32() uint32 { v := r.order.Uint32(r.buf[r.pos:]); r.pos += 4; return v }

const undefinedLength = 0xFFFFFFFF

// Item and delimitation tags (group FFFE).
const (
	tagItem          = 0xFFFEE000
	tagItemDelim     = 0xFFFEE00D
	tagSequenceDelim = 0xFFFEE0DD
	tagPixelData     = 0x7FE00010
)

type element struct {
	tag    uint32
	vr     string
	length uint32
}

func tagString(t uint32) string { return fmt.Sprintf("(%04X,%04X)", t>>16, t&0xFFFF) }

// next reads an element header.
func (r *reader) next() (element, error) {
	if err := r.need(8, "element header"); err != nil {
		return element{}, err
	}
	g, e := r.u16(), r.u16()
	el := element{tag: uint32(g)<<16 | uint32(e)}
	if g == 0xFFFE { // items and delimiters never carry a VR
		el.length = r.u32()
		return el, nil
	}
	if !r.explicit {
		el.vr = implicitVR(el.tag)
		el.length = r.u32()
		return el, nil
	}
	a, b := r.buf[r.pos], r.buf[r.pos+1]
	if !isVR(a, b) {
		return el, fmt.Errorf("%w: element %s at offset %d has no valid VR (%q)", ErrCorrupt, tagString(el.tag), r.pos-4, string([]byte{a, b}))
	}
	el.vr = string([]byte{a, b})
	r.pos += 2
	switch el.vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN", "SV", "UV":
		if err := r.need(6, "long element header"); err != nil {
			return el, err
		}
		r.pos += 2
		el.length = r.u32()
	default:
		el.length = uint32(r.u16())
	}
	return el, nil
}

// implicitVR gives the VR of the few tags whose values are read; everything
// else is skipped by length and needs none.
func implicitVR(tag uint32) string {
	switch tag {
	case 0x00020010, 0x00080060, 0x00280004:
		return "CS"
	case 0x00280002, 0x00280006, 0x00280010, 0x00280011, 0x00280100, 0x00280101, 0x00280102, 0x00280103:
		return "US"
	case 0x00280008:
		return "IS"
	case 0x00281050, 0x00281051, 0x00281052, 0x00281053:
		return "DS"
	case tagPixelData:
		return "OW"
	}
	return "UN"
}

func (h *header) readMeta(b []byte) ([]byte, error) {
	r := reader{buf: b, order: binary.LittleEndian, explicit: true}
	for r.remaining() >= 2 && binary.LittleEndian.Uint16(r.buf[r.pos:]) == 0x0002 {
		el, err := r.next()
		if err != nil {
			return nil, fmt.Errorf("file meta: %w", err)
		}
		if el.length == undefinedLength {
			return nil, fmt.Errorf("%w: file meta element %s has undefined length", ErrCorrupt, tagString(el.tag))
		}
		if err := r.need(int(el.length), "file meta element "+tagString(el.tag)); err != nil {
			return nil, err
		}
		v := r.buf[r.pos : r.pos+int(el.length)]
		r.pos += int(el.length)
		if el.tag == 0x00020010 {
			h.ts = trimValue(v)
		}
	}
	if h.ts == "" {
		return nil, fmt.Errorf("%w: file meta has no Transfer Syntax UID (0002,0010)", ErrCorrupt)
	}
	return r.buf[r.pos:], nil
}

func trimValue(v []byte) string { return strings.TrimRight(string(v), " \x00") }

// readDataset reads top-level elements until Pixel Data or the end.
func (h *header) readDataset(r *reader) error {
	for r.remaining() > 0 {
		if r.remaining() < 8 {
			// Trailing padding shorter than an element header.
			if bytes.Count(r.buf[r.pos:], []byte{0}) == r.remaining() {
				return nil
			}
			return fmt.Errorf("%w: %d stray bytes at the end of the data set", ErrCorrupt, r.remaining())
		}
		el, err := r.next()
		if err != nil {
			return err
		}
		if el.tag == tagPixelData {
			return h.readPixelData(r, el)
		}
		if el.tag>>16 == 0xFFFE {
			return fmt.Errorf("%w: unexpected delimiter %s at top level", ErrCorrupt, tagString(el.tag))
		}
		if el.length == undefinedLength {
			// SQ, or UN holding a sequence (encoded implicit VR little endian).
			sub := *r
			if el.vr == "UN" && r.explicit {
				sub.explicit = false
				sub.order = binary.LittleEndian
			}
			if err := skipSequence(&sub, 1); err != nil {
				return fmt.Errorf("sequence %s: %w", tagString(el.tag), err)
			}
			r.pos = sub.pos
			continue
		}
		if err := r.need(int(el.length), "element "+tagString(el.tag)); err != nil {
			return err
		}
		v := r.buf[r.pos : r.pos+int(el.length)]
		r.pos += int(el.length)
		if err := h.set(el, v, r.order); err != nil {
			return err
		}
	}
	return nil
}

// skipSequence skips items until the sequence delimiter.
func skipSequence(r *reader, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: sequences nested deeper than %d", ErrCorrupt, maxDepth)
	}
	for {
		el, err := r.next()
		if err != nil {
			return err
		}
		switch el.tag {
		case tagSequenceDelim:
			return nil
		case tagItem:
			if el.length != undefinedLength {
				if err := r.need(int(el.length), "sequence item"); err != nil {
					return err
				}
				r.pos += int(el.length)
				continue
			}
			if err := skipItem(r, depth); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: %s inside a sequence where an item was expected", ErrCorrupt, tagString(el.tag))
		}
	}
}

// skipItem skips the elements of an undefined-length item.
func skipItem(r *reader, depth int) error {
	for {
		el, err := r.next()
		if err != nil {
			return err
		}
		if el.tag == tagItemDelim {
			return nil
		}
		if el.tag>>16 == 0xFFFE {
			return fmt.Errorf("%w: unexpected %s inside an item", ErrCorrupt, tagString(el.tag))
		}
		if el.length == undefinedLength {
			sub := *r
			if el.vr == "UN" && r.explicit {
				sub.explicit, sub.order = false, binary.LittleEndian
			}
			if err := skipSequence(&sub, depth+1); err != nil {
				return err
			}
			r.pos = sub.pos
			continue
		}
		if err := r.need(int(el.length), "element "+tagString(el.tag)); err != nil {
			return err
		}
		r.pos += int(el.length)
	}
}

func (h *header) set(el element, v []byte, order binary.ByteOrder) error {
	us := func() (int, error) {
		if len(v) < 2 {
			return 0, fmt.Errorf("%w: %s has %d bytes, want 2", ErrCorrupt, tagString(el.tag), len(v))
		}
		return int(order.Uint16(v)), nil
	}
	ds := func() (float64, error) {
		s := trimValue(v)
		if i := strings.IndexByte(s, '\\'); i >= 0 { // multi-valued: take the first
			s = s[:i]
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s is not a decimal string: %q", ErrCorrupt, tagString(el.tag), trimValue(v))
		}
		return f, nil
	}
	var err error
	h.seen[el.tag] = true
	switch el.tag {
	case 0x00080060:
		h.modality = strings.TrimSpace(trimValue(v))
	case 0x00280004:
		h.photometric = strings.TrimSpace(trimValue(v))
	case 0x00280002:
		h.spp, err = us()
	case 0x00280006:
		h.planar, err = us()
	case 0x00280010:
		h.rows, err = us()
	case 0x00280011:
		h.cols, err = us()
	case 0x00280100:
		h.bitsAlloc, err = us()
	case 0x00280101:
		h.bitsStrd, err = us()
	case 0x00280102:
		h.highBit, err = us()
		h.hasHighBit = true
	case 0x00280103:
		h.pixelRep, err = us()
	case 0x00280008:
		s := strings.TrimSpace(trimValue(v))
		if s == "" {
			break
		}
		n, e := strconv.Atoi(s)
		if e != nil || n < 1 {
			return fmt.Errorf("%w: Number of Frames %q", ErrCorrupt, s)
		}
		h.frames = n
	case 0x00281050:
		if len(v) > 0 {
			h.windowCenter, err = ds()
		}
	case 0x00281051:
		if len(v) > 0 {
			h.windowWidth, err = ds()
			h.hasWindow = err == nil
		}
	case 0x00281052:
		if len(v) > 0 {
			h.intercept, err = ds()
		}
	case 0x00281053:
		if len(v) > 0 {
			h.slope, err = ds()
		}
	}
	return err
}

// readPixelData records the native value or the encapsulated fragments.
func (h *header) readPixelData(r *reader, el element) error {
	if el.length != undefinedLength {
		if err := r.need(int(el.length), "Pixel Data"); err != nil {
			return err
		}
		h.pixel = r.buf[r.pos : r.pos+int(el.length)]
		r.pos += int(el.length)
		return nil
	}
	h.encapsulated = true
	first := true
	for {
		it, err := r.next()
		if err != nil {
			return fmt.Errorf("encapsulated Pixel Data: %w", err)
		}
		switch it.tag {
		case tagSequenceDelim:
			return nil
		case tagItem:
		default:
			return fmt.Errorf("%w: %s inside encapsulated Pixel Data", ErrCorrupt, tagString(it.tag))
		}
		if it.length == undefinedLength {
			return fmt.Errorf("%w: pixel data fragment with undefined length", ErrCorrupt)
		}
		if err := r.need(int(it.length), "pixel data fragment"); err != nil {
			return err
		}
		v := r.buf[r.pos : r.pos+int(it.length)]
		r.pos += int(it.length)
		if first { // Basic Offset Table
			first = false
			if len(v)%4 != 0 {
				return fmt.Errorf("%w: basic offset table of %d bytes", ErrCorrupt, len(v))
			}
			for i := 0; i+4 <= len(v); i += 4 {
				h.offsets = append(h.offsets, binary.LittleEndian.Uint32(v[i:]))
			}
			continue
		}
		h.fragments = append(h.fragments, v)
	}
}
