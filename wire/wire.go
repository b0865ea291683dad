// Package wire holds the types that cross the HTTP boundary and are shared
// by the server packages, the client and audit: urgency, red flags, spans,
// model references and the urgency levels with their patient-facing labels.
// It imports no other project package, so the client can use it without
// linking ONNX Runtime, bleve or gse.
package wire

// Urgency levels, most urgent first.
const (
	LevelEmergency = "emergency"
	LevelUrgent    = "urgent"
	LevelRoutine   = "routine"
	LevelSelfCare  = "self_care"
)

// LevelLabels are the patient-facing words for each level.
var LevelLabels = map[string]string{
	LevelEmergency: "立即急诊或拨打120",
	LevelUrgent:    "尽快就医（24小时内）",
	LevelRoutine:   "门诊就诊",
	LevelSelfCare:  "居家观察",
}

// Span is a stretch of the original text, in runes.
type Span struct {
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// RedFlag is a red-flag rule that fired. Text is the patient's words (or
// the answered symptom) that triggered it; Evidence lists the spans of the
// request text (rune offsets) stating each finding it needs — empty when
// those findings came from interview answers or from an image.
type RedFlag struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Text     string `json:"text"`
	Evidence []Span `json:"evidence"`
}

// Urgency is how soon the patient should be seen.
type Urgency struct {
	Level    string    `json:"level"`
	Label    string    `json:"label"`
	RedFlags []RedFlag `json:"red_flags"`
	Reasons  []string  `json:"reasons"`
}

// ModelRef names a model version that contributed to an answer.
type ModelRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}
