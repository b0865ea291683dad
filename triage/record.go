package triage

import (
	"context"

	"github.com/fenzhen/fenzhen/nlp"
)

// The pre-consultation record (预问诊病历), laid out as the outpatient record
// of 《病历书写基本规范》: a patient line, 主诉, 现病史, 既往史, 过敏史, 用药史,
// 月经婚育史 and 个人史 where stated, and 问诊补充 from the interview answers.
// Every statement says where it comes from (the text, an answer or a field
// of the request) and cites the spans of the text it rests on; nothing is
// written that the patient did not say (docs/labelling/records.md).

// Record sections, in the order of the record.
const (
	SecChiefComplaint     = "chief_complaint"
	SecPresentIllness     = "present_illness"
	SecPastHistory        = "past_history"
	SecAllergyHistory     = "allergy_history"
	SecMedicationHistory  = "medication_history"
	SecMenstrualObstetric = "menstrual_obstetric_history"
	SecPersonalHistory    = "personal_history"
	SecInterview          = "interview"
)

// sectionTitles are the record's headings; the first five are always shown
// (an empty one as 未述), the others only when something is stated.
var sectionTitles = []struct {
	key, title string
	always     bool
}{
	{SecChiefComplaint, "主诉", true},
	{SecPresentIllness, "现病史", true},
	{SecPastHistory, "既往史", true},
	{SecAllergyHistory, "过敏史", true},
	{SecMedicationHistory, "用药史", true},
	{SecMenstrualObstetric, "月经婚育史", false},
	{SecPersonalHistory, "个人史", false},
	{SecInterview, "问诊补充", false},
}

// Statement sources.
const (
	SourceText    = "text"    // the patient's text: evidence holds its spans
	SourceAnswer  = "answer"  // an interview answer: answer holds it
	SourceRequest = "request" // a field of the request (age, sex)
)

// NotStated is written for an empty section in the plain-text record.
const NotStated = "（未述）"

// RecordResponse is the 200 body of POST /v1/record (预问诊病历).
// ChiefComplaint, PresentIllness, Positives and Negatives are the first
// version's fields, filled from the sections.
type RecordResponse struct {
	RequestID string `json:"request_id"`
	// ChiefComplaint is the 主诉 section's text.
	ChiefComplaint string `json:"chief_complaint"`
	// PresentIllness is the 现病史 section's text.
	PresentIllness string `json:"present_illness"`
	// Positives and Negatives are the findings of this illness by KG name,
	// answered ones included.
	Positives []string      `json:"positives"`
	Negatives []string      `json:"negatives"`
	Patient   RecordPatient `json:"patient"`
	// Sections in record order; 主诉 to 用药史 always, the others when stated.
	Sections []RecordSection `json:"sections"`
	// Text is the whole record in the usual plain-text layout.
	Text       string `json:"text"`
	Disclaimer string `json:"disclaimer"`
}

// RecordPatient is the patient line.
type RecordPatient struct {
	// Sex is male, female or "" when neither the text nor the request says.
	Sex string `json:"sex"`
	// Age as stated (58岁, 7个月), "" when not stated.
	Age string `json:"age"`
	// Reporter is 本人, 家属 or "" when the text does not tell.
	Reporter   string            `json:"reporter"`
	Text       string            `json:"text"`
	Statements []RecordStatement `json:"statements"`
}

// RecordSection is one section of the record.
type RecordSection struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	// Text is the section as written; "" when nothing is stated.
	Text       string            `json:"text"`
	Statements []RecordStatement `json:"statements"`
}

// RecordStatement is one statement of a section, with what it rests on.
type RecordStatement struct {
	Text string `json:"text"`
	// Kind: finding, negative, temperature, vital, treatment, result,
	// diagnosis, suspect, past, allergy, medication, menstrual, personal,
	// disease, sex, age, reporter, answer.
	Kind string `json:"kind"`
	// Finding is the KG symptom id of a finding or a negative.
	Finding string `json:"finding,omitempty"`
	Source  string `json:"source"`
	// Evidence: the spans of the text the statement rests on (rune
	// offsets), for source text.
	Evidence []nlp.Span `json:"evidence"`
	// Answer is the interview answer a statement of source answer rests on.
	Answer *Answer `json:"answer,omitempty"`
}

// Record drafts the pre-consultation record from the same body as Triage.
func (e *Engine) Record(_ context.Context, req Request) (*RecordResponse, error) {
	if err := e.Validate(&req); err != nil {
		return nil, err
	}
	c := e.buildCase(&req)
	w := recordWriter{e: e, c: c, req: &req, r: &c.extraction}
	return w.write(), nil
}
