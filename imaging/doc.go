// Package imaging turns uploaded medical images into model inputs and model
// outputs into findings.
//
// The path of one request is:
//
//	ReadRequest / Decode   PNG, JPEG (EXIF orientation applied) or DICOM → Image (8-bit grey or RGB)
//	Preprocess             Image → NCHW float32 tensor, exactly as the model's config.yaml says
//	Service.Classify       Runner.Infer → Response (findings best first, Chinese names, urgency)
//
// Errors wrap four sentinels that the API layer maps to status codes in one
// place: ErrUnsupportedMedia (415), ErrTooLarge (413), ErrCorrupt (422) and
// ErrNoModel (503).
package imaging

import "errors"

var (
	// ErrUnsupportedMedia: not PNG, JPEG or DICOM, or a DICOM transfer syntax /
	// pixel format this package cannot decode. HTTP 415.
	ErrUnsupportedMedia = errors.New("unsupported media type")
	// ErrTooLarge: the body, the pixel count or a side exceeds Limits. HTTP 413.
	ErrTooLarge = errors.New("image too large")
	// ErrCorrupt: the bytes claim a supported format but cannot be decoded. HTTP 422.
	ErrCorrupt = errors.New("corrupt image")
	// ErrNoModel: the model the request needs is not in the repository. HTTP 503.
	ErrNoModel = errors.New("model not available")
)
