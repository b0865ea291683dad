package client

import (
	"encoding/json"
	"fmt"

	"github.com/fenzhen/fenzhen/wire"
)

// Sexes and evidence states of a TriageRequest.
const (
	SexMale   = "male"
	SexFemale = "female"

	StatePresent = "present"
	StateAbsent  = "absent"
	StateUnknown = "unknown"
)

// Urgency levels, most urgent first.
const (
	LevelEmergency = "emergency" // 立即急诊或拨打120
	LevelUrgent    = "urgent"    // 尽快就医（24小时内）
	LevelRoutine   = "routine"   // 门诊就诊
	LevelSelfCare  = "self_care" // 居家观察
)

// TriageRequest is the body of POST /v1/triage and POST /v1/record.
type TriageRequest struct {
	// Text is the patient's own words, 1–2000 characters.
	Text string `json:"text"`
	// Age in years, 0–120 (0.5 for a six-month-old); nil when unknown.
	Age *float64 `json:"age,omitempty"`
	// Sex is SexMale, SexFemale or "" when unknown.
	Sex string `json:"sex,omitempty"`
	// Evidence answers earlier next_questions.
	Evidence []Evidence `json:"evidence,omitempty"`
	// TopK is how many departments and diseases to return, 1–20; 0 is the server default (5).
	TopK int `json:"top_k,omitempty"`
	// MaxQuestions caps the interview, 1–20: no next_question once this
	// many answers are in Evidence; 0 is the server default (5).
	MaxQuestions int `json:"max_questions,omitempty"`
}

// Age returns a pointer to years, for TriageRequest.Age and MedicationRequest.Age.
func Age(years float64) *float64 { return &years }

// Evidence is an answer to a next_question: State is StatePresent, StateAbsent or StateUnknown.
type Evidence struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// TriageResponse is the 200 answer of POST /v1/triage.
type TriageResponse struct {
	RequestID   string           `json:"request_id"`
	Symptoms    []Symptom        `json:"symptoms"`
	Departments []DepartmentRank `json:"departments"` // best first
	Urgency     Urgency          `json:"urgency"`
	Diseases    []DiseaseRank    `json:"diseases"` // most probable first
	// NextQuestion is nil when nothing more would change the answer.
	NextQuestion *Question `json:"next_question"`
	// Interview says how far the interview is and, when NextQuestion is
	// nil, why it stopped.
	Interview  Interview `json:"interview"`
	Models     []Model   `json:"models"`
	Disclaimer string    `json:"disclaimer"`
}

// Interview reports the interview's progress. Stop is "" while questions
// are asked, else one of "confident", "no_useful_question",
// "max_questions", "no_complaint"; Reason says it in Chinese.
type Interview struct {
	Answered     int    `json:"answered"`
	MaxQuestions int    `json:"max_questions"`
	Stop         string `json:"stop,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// Symptom is a symptom found in the text. Start and End are offsets in
// Unicode code points (runes), not bytes.
type Symptom struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"` // canonical name, 发热
	Text         string  `json:"text"` // as written, 发烧
	Start        int     `json:"start"`
	End          int     `json:"end"`
	State        string  `json:"state"` // present | absent (negated)
	DurationDays float64 `json:"duration_days"`
	Severity     string  `json:"severity"`
	BodyPart     string  `json:"body_part"`
	Fuzzy        bool    `json:"fuzzy,omitempty"`
	// Context is history, asked or other when the mention is not part of
	// the current complaint (去年心梗过, 会不会是心梗？, 我妈得过…).
	Context      string `json:"context,omitempty"`
	Onset        string `json:"onset,omitempty"`         // sudden
	Side         string `json:"side,omitempty"`          // left, right, both, one
	Character    string `json:"character,omitempty"`     // 压榨样, 撕裂样 …
	RadiatesTo   string `json:"radiates_to,omitempty"`   // body part id
	Extent       string `json:"extent,omitempty"`        // widespread
	DurationText string `json:"duration_text,omitempty"` // the patient's words: 3天, 今天早上
}

// DepartmentRank is a recommended department with its 《医疗机构诊疗科目名录》 code.
type DepartmentRank struct {
	Code        string  `json:"code"`
	Name        string  `json:"name"`
	ParentCode  string  `json:"parent_code"`
	Probability float64 `json:"probability"`
}

// Urgency, RedFlag and Span are the server's own wire types (package wire
// imports nothing of the project, so the client still links no ORT, bleve
// or gse). A Span is a stretch of the request text, in runes (Unicode code
// points); a RedFlag's Evidence is empty when its findings came from
// interview answers.
type (
	Urgency = wire.Urgency
	RedFlag = wire.RedFlag
	Span    = wire.Span
)

// DiseaseRank is one entry of the differential.
type DiseaseRank struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Probability     float64  `json:"probability"`
	DepartmentCode  string   `json:"department_code"`
	EvidenceFor     []string `json:"evidence_for"`
	EvidenceAgainst []string `json:"evidence_against"`
}

// Question is the next thing worth asking; SymptomID is empty when it asks
// for the main complaint. Answer it with Evidence{ID: SymptomID, State: …}.
type Question struct {
	SymptomID string `json:"symptom_id"`
	Name      string `json:"name"`
	Text      string `json:"text"`
}

// Model names a model version that contributed to an answer.
type Model = wire.ModelRef

// RecordResponse is the 200 answer of POST /v1/record (预问诊病历): the
// outpatient record's sections, each statement with its source and the
// spans of the text it rests on. ChiefComplaint and PresentIllness are the
// 主诉 and 现病史 sections' text.
type RecordResponse struct {
	RequestID      string          `json:"request_id"`
	ChiefComplaint string          `json:"chief_complaint"` // 主诉
	PresentIllness string          `json:"present_illness"` // 现病史
	Positives      []string        `json:"positives"`
	Negatives      []string        `json:"negatives"`
	Patient        RecordPatient   `json:"patient"`
	Sections       []RecordSection `json:"sections"`
	Text           string          `json:"text"` // the whole record as plain text
	Disclaimer     string          `json:"disclaimer"`
}

// RecordPatient is the record's patient line.
type RecordPatient struct {
	Sex        string            `json:"sex"`      // male, female or ""
	Age        string            `json:"age"`      // as stated: 58岁, 7个月
	Reporter   string            `json:"reporter"` // 本人, 家属 or ""
	Text       string            `json:"text"`
	Statements []RecordStatement `json:"statements"`
}

// Record section keys.
const (
	SectionChiefComplaint     = "chief_complaint"
	SectionPresentIllness     = "present_illness"
	SectionPastHistory        = "past_history"
	SectionAllergyHistory     = "allergy_history"
	SectionMedicationHistory  = "medication_history"
	SectionMenstrualObstetric = "menstrual_obstetric_history"
	SectionPersonalHistory    = "personal_history"
	SectionInterview          = "interview"
)

// RecordSection is one section of the record (主诉, 现病史 …).
type RecordSection struct {
	Key        string            `json:"key"`
	Title      string            `json:"title"`
	Text       string            `json:"text"` // "" when not stated
	Statements []RecordStatement `json:"statements"`
}

// Record statement sources.
const (
	SourceText    = "text"
	SourceAnswer  = "answer"
	SourceRequest = "request"
)

// RecordStatement is one statement of the record with what it rests on:
// Evidence for source text, Answer for source answer.
type RecordStatement struct {
	Text     string    `json:"text"`
	Kind     string    `json:"kind"`
	Finding  string    `json:"finding,omitempty"`
	Source   string    `json:"source"`
	Evidence []Span    `json:"evidence"`
	Answer   *Evidence `json:"answer,omitempty"`
}

// MedicationRequest is the body of POST /v1/medication/check.
type MedicationRequest struct {
	Drugs      []string `json:"drugs"`
	Conditions []string `json:"conditions,omitempty"`
	Age        *float64 `json:"age,omitempty"`
	Sex        string   `json:"sex,omitempty"`
	Pregnant   bool     `json:"pregnant,omitempty"`
}

// Medication warning severities.
const (
	SeverityContraindicated = "contraindicated"
	SeverityCaution         = "caution"
	SeverityInteraction     = "interaction"
)

// MedicationResponse is the 200 answer of POST /v1/medication/check.
type MedicationResponse struct {
	RequestID         string              `json:"request_id"`
	Warnings          []MedicationWarning `json:"warnings"`
	UnknownDrugs      []string            `json:"unknown_drugs"`
	UnknownConditions []string            `json:"unknown_conditions"`
	Disclaimer        string              `json:"disclaimer"`
}

// MedicationWarning is one safety finding; With names the other drug of an interaction.
type MedicationWarning struct {
	Drug     string `json:"drug"`
	With     string `json:"with,omitempty"`
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
}

// SearchRequest is a GET /v1/knowledge/search query.
type SearchRequest struct {
	Query string   // 1–200 characters
	Limit int      // 1–100; 0 is the server default (10)
	Types []string // any of disease, symptom, department, check, drug; empty is all
}

// SearchResponse is the answer of GET /v1/knowledge/search.
type SearchResponse struct {
	Hits []SearchHit `json:"hits"`
}

// SearchHit is one knowledge-graph entry; Type is disease, symptom, department, check or drug.
type SearchHit struct {
	ID    string  `json:"id"`
	Type  string  `json:"type"`
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// Disease is the answer of GET /v1/knowledge/diseases/{id}.
type Disease struct {
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	Aliases       []string         `json:"aliases"`
	Description   string           `json:"description"`
	Age           []float64        `json:"age,omitempty"` // [min, max] years
	Sex           string           `json:"sex,omitempty"`
	Symptoms      []DiseaseSymptom `json:"symptoms"` // most frequent first
	Departments   []Department     `json:"departments"`
	Checks        []NamedRef       `json:"checks"`
	Drugs         []NamedRef       `json:"drugs"`
	Complications []NamedRef       `json:"complications"`
	RedFlags      []DiseaseRedFlag `json:"red_flags"`
}

// DiseaseSymptom is a symptom of a disease with how often it occurs (0–1).
type DiseaseSymptom struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Frequency float64 `json:"frequency"`
}

// NamedRef is an id and its name.
type NamedRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// DiseaseRedFlag is a warning sign of a disease.
type DiseaseRedFlag struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Urgency string `json:"urgency,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Department is a catalogue entry: Code is the 《医疗机构诊疗科目名录》 code,
// ParentCode the parent of a sub-department.
type Department struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	ParentCode string   `json:"parent_code"`
	Aliases    []string `json:"aliases,omitempty"`
}

// ImagingResponse is the 200 answer of POST /v1/imaging/chest and POST /v1/dermatology.
type ImagingResponse struct {
	RequestID string    `json:"request_id"`
	Findings  []Finding `json:"findings"` // every class, best first
	Input     ImageInfo `json:"input"`
	Models    []Model   `json:"models"`
	// Department ("13"), DepartmentName and Urgency come with dermatology.
	Department     string   `json:"department,omitempty"`
	DepartmentName string   `json:"department_name,omitempty"`
	Urgency        *Urgency `json:"urgency,omitempty"`
	// Decision is the class decided at the operating point.
	Decision *ImagingDecision `json:"decision,omitempty"`
	// Quality is the input check's verdict; OK false means the result came
	// with reservations that Reason explains.
	Quality    *ImageQuality `json:"quality,omitempty"`
	Disclaimer string        `json:"disclaimer"`
}

// Operating points of POST /v1/imaging/chest (ClassifyChestAt).
const (
	OperatingPointBalanced  = "balanced"  // the default: the val-tuned threshold
	OperatingPointScreening = "screening" // sensitivity ≥ 0.95, lower specificity
)

// ImagingDecision is the class an imaging model decides at an operating point.
type ImagingDecision struct {
	Label          string `json:"label"`
	Name           string `json:"name"`
	OperatingPoint string `json:"operating_point"`
	// Threshold (chest): the pneumonia probability at or above which it is decided.
	Threshold *float64 `json:"threshold,omitempty"`
}

// ImageQuality is the input check's verdict on an accepted image. An image
// the model cannot read is refused with a 422 unprocessable APIError instead.
type ImageQuality struct {
	OK     bool     `json:"ok"`
	Reason string   `json:"reason,omitempty"`
	Issues []string `json:"issues,omitempty"` // too_small, aspect_ratio, out_of_distribution
	// OODScore is the out-of-distribution score over its flag threshold (> 1 flagged).
	OODScore *float64 `json:"ood_score,omitempty"`
}

// Finding is one class of an imaging model.
type Finding struct {
	Label       string  `json:"label"`
	Name        string  `json:"name"`
	Probability float64 `json:"probability"`
}

// ImageInfo describes the decoded upload.
type ImageInfo struct {
	Format   string `json:"format"` // png | jpeg | dicom
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Modality string `json:"modality"`
}

// Readiness is the body of GET /readyz.
type Readiness struct {
	Status    string        `json:"status"` // ready | degraded | not_ready
	Knowledge bool          `json:"knowledge"`
	Triage    bool          `json:"triage"`
	Models    []ModelStatus `json:"models"`
}

// ModelStatus is one model version of the repository.
type ModelStatus struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Ready   bool   `json:"ready"`
	Error   string `json:"error,omitempty"`
}

// V2InferRequest is a KServe v2 JSON inference request.
type V2InferRequest struct {
	ID         string            `json:"id,omitempty"`
	Inputs     []V2Input         `json:"inputs"`
	Outputs    []V2OutputRequest `json:"outputs,omitempty"`
	Parameters map[string]any    `json:"parameters,omitempty"`
}

// V2Input is an input tensor; Data is a flat (row-major) or nested slice,
// e.g. []float32 for FP32.
type V2Input struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"` // BOOL UINT8 INT8 INT32 INT64 FP32 FP64
	Data       any            `json:"data"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// V2OutputRequest names an output to return.
type V2OutputRequest struct {
	Name string `json:"name"`
}

// V2InferResponse is a KServe v2 JSON inference answer.
type V2InferResponse struct {
	ModelName    string     `json:"model_name"`
	ModelVersion string     `json:"model_version"`
	ID           string     `json:"id,omitempty"`
	Outputs      []V2Output `json:"outputs"`
}

// V2Output is an output tensor; Data holds its flat elements as JSON.
type V2Output struct {
	Name       string          `json:"name"`
	Datatype   string          `json:"datatype"`
	Shape      []int64         `json:"shape"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// Float32s decodes Data of an FP32 (or any numeric) output.
func (o V2Output) Float32s() ([]float32, error) {
	var v []float32
	if err := json.Unmarshal(o.Data, &v); err != nil {
		return nil, fmt.Errorf("output %q (%s): %w", o.Name, o.Datatype, err)
	}
	return v, nil
}

// Int64s decodes Data of an integer output.
func (o V2Output) Int64s() ([]int64, error) {
	var v []int64
	if err := json.Unmarshal(o.Data, &v); err != nil {
		return nil, fmt.Errorf("output %q (%s): %w", o.Name, o.Datatype, err)
	}
	return v, nil
}
