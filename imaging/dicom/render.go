package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
)

// render validates the header against lim and turns the first frame into
// display-ready 8-bit pixels.
func (h *header) render(lim Limits) (*Image, error) {
	if h.pixel == nil && !h.encapsulated {
		return nil, fmt.Errorf("%w: no Pixel Data (7FE0,0010) element", ErrCorrupt)
	}
	if h.rows < 1 || h.cols < 1 {
		return nil, fmt.Errorf("%w: Rows×Columns %d×%d", ErrCorrupt, h.rows, h.cols)
	}
	if lim.MaxSide > 0 && (h.rows > lim.MaxSide || h.cols > lim.MaxSide) {
		return nil, fmt.Errorf("%w: %d×%d exceeds the %d-pixel side limit", ErrTooLarge, h.cols, h.rows, lim.MaxSide)
	}
	pixels := int64(h.rows) * int64(h.cols)
	if lim.MaxPixels > 0 && pixels > lim.MaxPixels {
		return nil, fmt.Errorf("%w: %d×%d = %d pixels exceeds the limit of %d", ErrTooLarge, h.cols, h.rows, pixels, lim.MaxPixels)
	}
	switch h.bitsAlloc {
	case 8, 16, 32:
	case 0:
		return nil, fmt.Errorf("%w: Bits Allocated (0028,0100) is missing", ErrCorrupt)
	default:
		return nil, fmt.Errorf("%w: Bits Allocated %d (only 8, 16 and 32 are supported)", ErrUnsupported, h.bitsAlloc)
	}
	if h.bitsStrd == 0 {
		h.bitsStrd = h.bitsAlloc
	}
	if h.bitsStrd < 1 || h.bitsStrd > h.bitsAlloc {
		return nil, fmt.Errorf("%w: Bits Stored %d with Bits Allocated %d", ErrCorrupt, h.bitsStrd, h.bitsAlloc)
	}
	if !h.hasHighBit {
		h.highBit = h.bitsStrd - 1
	}
	if h.highBit < h.bitsStrd-1 || h.highBit >= h.bitsAlloc {
		return nil, fmt.Errorf("%w: High Bit %d with Bits Stored %d, Bits Allocated %d", ErrCorrupt, h.highBit, h.bitsStrd, h.bitsAlloc)
	}
	if h.pixelRep != 0 && h.pixelRep != 1 {
		return nil, fmt.Errorf("%w: Pixel Representation %d", ErrCorrupt, h.pixelRep)
	}
	if h.spp != 1 && h.spp != 3 {
		return nil, fmt.Errorf("%w: Samples per Pixel %d (only 1 and 3 are supported)", ErrUnsupported, h.spp)
	}
	if h.photometric == "" {
		if h.spp == 3 {
			h.photometric = "RGB"
		} else {
			h.photometric = "MONOCHROME2"
		}
	}
	switch h.photometric {
	case "MONOCHROME1", "MONOCHROME2":
		if h.spp != 1 {
			return nil, fmt.Errorf("%w: %s with %d samples per pixel", ErrCorrupt, h.photometric, h.spp)
		}
	case "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT":
		if h.spp != 3 {
			return nil, fmt.Errorf("%w: %s with %d samples per pixel", ErrCorrupt, h.photometric, h.spp)
		}
	default:
		return nil, fmt.Errorf("%w: Photometric Interpretation %q", ErrUnsupported, h.photometric)
	}
	if h.slope == 0 || math.IsNaN(h.slope) || math.IsInf(h.slope, 0) || math.IsNaN(h.intercept) || math.IsInf(h.intercept, 0) {
		return nil, fmt.Errorf("%w: Rescale Slope %v / Intercept %v", ErrCorrupt, h.slope, h.intercept)
	}
	bpp := int64(h.bitsAlloc / 8)
	frameBytes := pixels * int64(h.spp) * bpp
	if lim.MaxBytes > 0 && frameBytes*int64(h.frames) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d frames of %d×%d×%d at %d bits declare %d bytes, over the limit of %d",
			ErrTooLarge, h.frames, h.cols, h.rows, h.spp, h.bitsAlloc, frameBytes*int64(h.frames), lim.MaxBytes)
	}
	img := &Image{
		Rows: h.rows, Columns: h.cols, Frames: h.frames, Modality: h.modality,
		Photometric: h.photometric, TransferSyntax: h.ts, BitsAllocated: h.bitsAlloc,
		BitsStored: h.bitsStrd, Signed: h.pixelRep == 1, SamplesPerPixel: h.spp,
	}
	if h.encapsulated {
		frame, err := h.firstFrame()
		if err != nil {
			return nil, err
		}
		switch h.ts {
		case JPEGBaseline, JPEGExtended:
			return h.renderJPEG(img, frame)
		case RLELossless:
			native, err := h.decodeRLE(frame, frameBytes)
			if err != nil {
				return nil, err
			}
			h.planar = 1 // RLE segments are one plane per byte of each sample
			return h.renderNative(img, native)
		default:
			return nil, fmt.Errorf("%w: encapsulated Pixel Data in transfer syntax %s", ErrUnsupported, h.ts)
		}
	}
	if int64(len(h.pixel)) < frameBytes {
		return nil, fmt.Errorf("%w: Pixel Data has %d bytes, the first frame needs %d", ErrCorrupt, len(h.pixel), frameBytes)
	}
	return h.renderNative(img, h.pixel[:frameBytes])
}

// firstFrame joins the fragments of frame 1.
func (h *header) firstFrame() ([]byte, error) {
	if len(h.fragments) == 0 {
		return nil, fmt.Errorf("%w: encapsulated Pixel Data has no fragments", ErrCorrupt)
	}
	if h.frames == 1 {
		if len(h.fragments) == 1 {
			return h.fragments[0], nil
		}
		return bytes.Join(h.fragments, nil), nil
	}
	if len(h.offsets) > 1 { // the offset table tells where frame 2 starts
		var out []byte
		pos := uint32(0)
		for _, f := range h.fragments {
			if pos >= h.offsets[1] {
				break
			}
			out = append(out, f...)
			pos += uint32(len(f)) + 8
		}
		return out, nil
	}
	if h.ts == RLELossless || len(h.fragments) == h.frames {
		return h.fragments[0], nil // one fragment per frame
	}
	// JPEG without an offset table: collect fragments up to the first EOI.
	var out []byte
	for _, f := range h.fragments {
		out = append(out, f...)
		t := bytes.TrimRight(out, "\x00")
		if len(t) >= 2 && t[len(t)-2] == 0xFF && t[len(t)-1] == 0xD9 {
			break
		}
	}
	return out, nil
}

func (h *header) renderJPEG(img *Image, frame []byte) (*Image, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(frame))
	if err != nil {
		return nil, jpegError(err)
	}
	if cfg.Width != h.cols || cfg.Height != h.rows {
		return nil, fmt.Errorf("%w: JPEG frame is %d×%d but Rows×Columns say %d×%d", ErrCorrupt, cfg.Width, cfg.Height, h.cols, h.rows)
	}
	m, err := jpeg.Decode(bytes.NewReader(frame))
	if err != nil {
		return nil, jpegError(err)
	}
	switch m := m.(type) {
	case *image.Gray:
		img.Channels = 1
		img.Pix = make([]uint8, h.rows*h.cols)
		for y := 0; y < h.rows; y++ {
			copy(img.Pix[y*h.cols:(y+1)*h.cols], m.Pix[y*m.Stride:])
		}
	default:
		img.Channels = 3
		img.Pix = make([]uint8, h.rows*h.cols*3)
		i := 0
		for y := 0; y < h.rows; y++ {
			for x := 0; x < h.cols; x++ {
				r, g, b, _ := m.At(x, y).RGBA()
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = uint8(r>>8), uint8(g>>8), uint8(b>>8)
				i += 3
			}
		}
	}
	if h.photometric == "MONOCHROME1" && img.Channels == 1 {
		for i, v := range img.Pix {
			img.Pix[i] = 255 - v
		}
	}
	return img, nil
}

func jpegError(err error) error {
	var ue jpeg.UnsupportedError
	if errors.As(err, &ue) {
		return fmt.Errorf("%w: JPEG frame: %v", ErrUnsupported, err)
	}
	return fmt.Errorf("%w: JPEG frame: %v", ErrCorrupt, err)
}

// decodeRLE expands a DICOM RLE Lossless frame (PS3.5 Annex G) into native
// little-endian pixel bytes, plane by plane (planar configuration 1).
func (h *header) decodeRLE(frame []byte, frameBytes int64) ([]byte, error) {
	if len(frame) < 64 {
		return nil, fmt.Errorf("%w: RLE header needs 64 bytes, frame has %d", ErrCorrupt, len(frame))
	}
	n := int(binary.LittleEndian.Uint32(frame))
	bpp := h.bitsAlloc / 8
	want := h.spp * bpp
	if n != want {
		return nil, fmt.Errorf("%w: RLE frame has %d segments, %d samples of %d bytes need %d", ErrCorrupt, n, h.spp, bpp, want)
	}
	pixels := h.rows * h.cols
	out := make([]byte, frameBytes)
	for s := 0; s < n; s++ {
		start := int64(binary.LittleEndian.Uint32(frame[4+4*s:]))
		end := int64(len(frame))
		if s+1 < n {
			end = int64(binary.LittleEndian.Uint32(frame[8+4*s:]))
		}
		if start < 64 || start > end || end > int64(len(frame)) {
			return nil, fmt.Errorf("%w: RLE segment %d spans %d..%d of %d bytes", ErrCorrupt, s+1, start, end, len(frame))
		}
		seg := make([]byte, pixels)
		if err := unpackBits(frame[start:end], seg); err != nil {
			return nil, fmt.Errorf("RLE segment %d: %w", s+1, err)
		}
		// Segment order: sample by sample, most significant byte first.
		sample, byteIdx := s/bpp, bpp-1-s%bpp
		plane := out[sample*pixels*bpp:]
		for i, v := range seg {
			plane[i*bpp+byteIdx] = v
		}
	}
	h.littleNative = true
	return out, nil
}

// unpackBits decodes a PackBits segment into dst, which must be filled exactly.
func unpackBits(src, dst []byte) error {
	o := 0
	for i := 0; i < len(src) && o < len(dst); {
		n := int(int8(src[i]))
		i++
		switch {
		case n >= 0:
			if i+n+1 > len(src) || o+n+1 > len(dst) {
				return fmt.Errorf("%w: literal run overruns the segment", ErrCorrupt)
			}
			copy(dst[o:], src[i:i+n+1])
			i += n + 1
			o += n + 1
		case n > -128:
			if i >= len(src) || o+1-n > len(dst) {
				return fmt.Errorf("%w: replicate run overruns the segment", ErrCorrupt)
			}
			for k := 0; k < 1-n; k++ {
				dst[o+k] = src[i]
			}
			i++
			o += 1 - n
		}
	}
	if o != len(dst) {
		return fmt.Errorf("%w: segment decodes to %d bytes, want %d", ErrCorrupt, o, len(dst))
	}
	return nil
}

// renderNative converts native pixel bytes (one frame) to 8-bit pixels.
func (h *header) renderNative(img *Image, b []byte) (*Image, error) {
	order := binary.ByteOrder(binary.LittleEndian)
	if h.ts == ExplicitVRBigEndian && !h.littleNative {
		order = binary.BigEndian
	}
	n := h.rows * h.cols
	bpp := h.bitsAlloc / 8
	shift := uint(h.highBit + 1 - h.bitsStrd)
	mask := uint32(1)<<uint(h.bitsStrd) - 1
	signBit := uint32(1) << uint(h.bitsStrd-1)
	sample := func(i int) float64 {
		var raw uint32
		switch bpp {
		case 1:
			raw = uint32(b[i])
		case 2:
			raw = uint32(order.Uint16(b[2*i:]))
		default:
			raw = order.Uint32(b[4*i:])
		}
		raw = (raw >> shift) & mask
		if h.pixelRep == 1 && raw&signBit != 0 {
			return float64(int64(raw) - int64(mask) - 1)
		}
		return float64(raw)
	}
	if h.spp == 3 {
		img.Channels = 3
		img.Pix = make([]uint8, n*3)
		maxv := float64(mask)
		for p := 0; p < n; p++ {
			for c := 0; c < 3; c++ {
				idx := p*3 + c
				if h.planar == 1 {
					idx = c*n + p
				}
				v := sample(idx)
				if h.pixelRep == 1 {
					v += float64(signBit)
				}
				img.Pix[p*3+c] = clamp8(v * 255 / maxv)
			}
		}
		if h.photometric == "YBR_FULL" {
			for p := 0; p < n; p++ {
				y, cb, cr := float64(img.Pix[p*3]), float64(img.Pix[p*3+1])-128, float64(img.Pix[p*3+2])-128
				img.Pix[p*3] = clamp8(y + 1.402*cr)
				img.Pix[p*3+1] = clamp8(y - 0.344136*cb - 0.714136*cr)
				img.Pix[p*3+2] = clamp8(y + 1.772*cb)
			}
		} else if h.photometric != "RGB" {
			return nil, fmt.Errorf("%w: native %s pixel data", ErrUnsupported, h.photometric)
		}
		return img, nil
	}
	// Grey: modality LUT, then VOI window (or min..max), then MONOCHROME1
	// inversion. Values are recomputed rather than stored, so a large frame
	// costs one byte per pixel.
	value := func(i int) float64 { return sample(i)*h.slope + h.intercept }
	img.Channels = 1
	img.Pix = make([]uint8, n)
	if h.hasWindow && h.windowWidth >= 1 {
		// PS3.3 C.11.2.1.2.1, linear function.
		c, w := h.windowCenter, h.windowWidth
		for i := range img.Pix {
			v := value(i)
			switch {
			case v <= c-0.5-(w-1)/2:
				img.Pix[i] = 0
			case v > c-0.5+(w-1)/2:
				img.Pix[i] = 255
			default:
				img.Pix[i] = clamp8(((v-(c-0.5))/(w-1) + 0.5) * 255)
			}
		}
	} else {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i < n; i++ {
			v := value(i)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if hi > lo {
			for i := range img.Pix {
				img.Pix[i] = clamp8((value(i) - lo) / (hi - lo) * 255)
			}
		}
	}
	if h.photometric == "MONOCHROME1" {
		for i, v := range img.Pix {
			img.Pix[i] = 255 - v
		}
	}
	return img, nil
}

// clamp8 rounds half up and clamps to 0..255.
func clamp8(v float64) uint8 {
	v = math.Floor(v + 0.5)
	switch {
	case v <= 0 || math.IsNaN(v):
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}
