// Package triage turns a patient's own description into a department
// recommendation, an urgency level, a ranked differential and the next
// question worth asking. It combines the knowledge graph (naive-Bayes
// posterior over diseases, red-flag rules) with an ONNX department
// classifier served through the inference repository.
package triage

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/wire"
)

// Disclaimer is returned with every triage, record and medication answer.
const Disclaimer = "本结果由人工智能生成，仅供参考，不能替代医生的诊断和治疗建议。"

// Limits of a Request.
const (
	MaxTextRunes = 2000
	DefaultTopK  = 5
	MaxTopK      = 20
	MaxAge       = 120
	// DefaultMaxQuestions and MaxQuestionsCap bound the interview.
	DefaultMaxQuestions = 5
	MaxQuestionsCap     = 20
)

// Urgency levels, most urgent first (defined once in wire).
const (
	LevelEmergency = wire.LevelEmergency
	LevelUrgent    = wire.LevelUrgent
	LevelRoutine   = wire.LevelRoutine
	LevelSelfCare  = wire.LevelSelfCare
)

// levelRank orders levels; a higher rank is more urgent.
var levelRank = map[string]int{LevelSelfCare: 0, LevelRoutine: 1, LevelUrgent: 2, LevelEmergency: 3}

// LevelLabels are the patient-facing words for each level.
var LevelLabels = wire.LevelLabels

// Evidence states a client may send.
const (
	StatePresent = "present"
	StateAbsent  = "absent"
	StateUnknown = "unknown"
)

// Errors the API layer maps to status codes: ErrInvalid → 400
// invalid_argument, ErrUnprocessable → 422 unprocessable. The wrapped
// message is safe to return to the client (it never quotes patient text).
var (
	ErrInvalid       = errors.New("invalid argument")
	ErrUnprocessable = errors.New("unprocessable")
)

// RequestError carries the offending field; errors.Is matches its Kind.
type RequestError struct {
	Kind    error // ErrInvalid or ErrUnprocessable
	Field   string
	Message string
}

func (e *RequestError) Error() string { return e.Message }

// Unwrap lets errors.Is(err, ErrInvalid) work.
func (e *RequestError) Unwrap() error { return e.Kind }

func invalid(field, format string, a ...any) error {
	return &RequestError{Kind: ErrInvalid, Field: field, Message: fmt.Sprintf(format, a...)}
}

func unprocessable(field, format string, a ...any) error {
	return &RequestError{Kind: ErrUnprocessable, Field: field, Message: fmt.Sprintf(format, a...)}
}

// Answer is a reply to an earlier next_question.
type Answer struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// Request is the body of POST /v1/triage (and /v1/record).
type Request struct {
	Text     string   `json:"text"`
	Age      *float64 `json:"age,omitempty"`
	Sex      string   `json:"sex,omitempty"`
	Evidence []Answer `json:"evidence,omitempty"`
	TopK     int      `json:"top_k,omitempty"`
	// MaxQuestions caps the interview: no next_question once this many
	// answers are in evidence (0: the engine's default, about 5).
	MaxQuestions int `json:"max_questions,omitempty"`
}

// Department is one recommended department.
type Department struct {
	Code        string  `json:"code"`
	Name        string  `json:"name"`
	ParentCode  string  `json:"parent_code"`
	Probability float64 `json:"probability"`
}

// RedFlag and Urgency are the wire types, shared with imaging and the client.
type (
	RedFlag = wire.RedFlag
	Urgency = wire.Urgency
)

// Disease is one entry of the differential.
type Disease struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Probability     float64  `json:"probability"`
	DepartmentCode  string   `json:"department_code"`
	EvidenceFor     []string `json:"evidence_for"`
	EvidenceAgainst []string `json:"evidence_against"`
}

// Question is the next thing to ask. SymptomID is empty when asking for
// the main complaint.
type Question struct {
	SymptomID string `json:"symptom_id"`
	Name      string `json:"name"`
	Text      string `json:"text"`
}

// Interview reasons (Interview.Stop).
const (
	StopNone        = ""                   // a question is asked
	StopConfident   = "confident"          // the leading disease is likely enough
	StopNoGain      = "no_useful_question" // no question would change the answer
	StopMaxQuestion = "max_questions"      // the cap of questions is reached
	StopNoComplaint = "no_complaint"       // the main complaint is asked first
)

// Interview is the state of the symptom interview.
type Interview struct {
	Answered     int    `json:"answered"`
	MaxQuestions int    `json:"max_questions"`
	Stop         string `json:"stop,omitempty"`
	// Reason says in Chinese why no further question is asked.
	Reason string `json:"reason,omitempty"`
}

var stopReasons = map[string]string{
	StopConfident:   "已有较明确的判断，无需继续提问",
	StopNoGain:      "再提问也不会改变判断",
	StopMaxQuestion: "已达到本次问诊的提问上限",
	StopNoComplaint: "请先描述主要症状",
}

// ModelRef names a model that contributed to the answer.
type ModelRef = wire.ModelRef

// Response is the body of a 200 answer to POST /v1/triage; the API layer
// sets RequestID.
type Response struct {
	RequestID    string        `json:"request_id"`
	Symptoms     []nlp.Mention `json:"symptoms"`
	Departments  []Department  `json:"departments"`
	Urgency      Urgency       `json:"urgency"`
	Diseases     []Disease     `json:"diseases"`
	NextQuestion *Question     `json:"next_question"`
	// Interview says where the interview stands and, when next_question
	// is null, why it stopped.
	Interview  Interview  `json:"interview"`
	Models     []ModelRef `json:"models"`
	Disclaimer string     `json:"disclaimer"`
}

// Options tunes an Engine. The zero value is usable.
type Options struct {
	// DepartmentModel is the classifier's name in the repository
	// (default "triage-department"); "-" disables it.
	DepartmentModel string
	// ModelVersion pins a version; empty takes the newest.
	ModelVersion string
	// ModelWeight is the classifier's share when blended with the KG
	// department distribution (default 0.6: within 0.02 of the best xfyun
	// validation top-1 over 0.6–0.9 while the authored department
	// vignettes keep their coverage, which fall from 0.6 up; never chosen
	// on a test part).
	ModelWeight float64
	// ClassifyWithoutSymptoms lets the classifier rank departments for a
	// text with no recognisable symptom (e.g. "乙肝能治好吗"). Off by
	// default: API.md asks for empty lists then.
	ClassifyWithoutSymptoms bool
	// MaxQuestions stops next_question after this many answers unless the
	// request asks for another cap (default 5).
	MaxQuestions int
	// ConfidentPosterior stops next_question once the leading disease
	// reaches it (default 0.6).
	ConfidentPosterior float64
	// DiseaseModel is the disease ranker's name in the repository
	// (default "triage-disease", used when the repository has it); "-"
	// disables it. ModelVersionDisease pins its version.
	DiseaseModel        string
	ModelVersionDisease string
	// DiseaseModelWeight is the ranker's share when blended with the
	// naive-Bayes posterior for children (default 0.5; adults 0.15).
	DiseaseModelWeight float64
	// UrgencyModel is the urgency classifier's name in the repository
	// (default "triage-urgency", used when the repository has it); "-"
	// disables it. UrgencyModelVersion pins its version. It may only raise
	// the red-flag rules' level, to the most urgent level whose cumulative
	// probability reaches UrgencyThreshold (default 0.9).
	UrgencyModel        string
	UrgencyModelVersion string
	UrgencyThreshold    float64
}

// DefaultDepartmentModel is the repository name of the department classifier.
const DefaultDepartmentModel = "triage-department"

// Engine is immutable after New and safe for concurrent use.
type Engine struct {
	kg   *knowledge.KG
	x    *nlp.Extractor
	run  inference.Runner
	opts Options
	feat *Featurizer
	nb   *bayes
	// The ONNX heads, nil when not configured or not in the repository:
	// department classifier, disease ranker (diseaseIdx maps its labels to
	// nb.diseases) and urgency classifier.
	dept       *classifier
	disease    *classifier
	diseaseIdx []int
	urgency    *classifier
	// gain indexes the KG and the disease head for the interview's
	// information gain (gaintable.go).
	gain *gainTable
}

// New builds an Engine. runner may be nil (KG only). A classifier that is
// configured but does not match the features this KG produces is an error,
// so a mismatched model never silently degrades routing.
func New(kg *knowledge.KG, x *nlp.Extractor, runner inference.Runner, opts Options) (*Engine, error) {
	if kg == nil || x == nil {
		return nil, errors.New("triage: nil knowledge graph or extractor")
	}
	if opts.DepartmentModel == "" {
		opts.DepartmentModel = DefaultDepartmentModel
	}
	if opts.ModelWeight <= 0 || opts.ModelWeight > 1 {
		opts.ModelWeight = 0.6
	}
	if opts.MaxQuestions <= 0 {
		opts.MaxQuestions = DefaultMaxQuestions
	}
	if opts.ConfidentPosterior <= 0 || opts.ConfidentPosterior > 1 {
		opts.ConfidentPosterior = 0.6
	}
	if opts.DiseaseModelWeight <= 0 || opts.DiseaseModelWeight > 1 {
		opts.DiseaseModelWeight = defaultDiseaseWeight
	}
	if opts.UrgencyThreshold <= 0 || opts.UrgencyThreshold > 1 {
		opts.UrgencyThreshold = defaultUrgencyThreshold
	}
	if miss := missingSafetyTerms(kg, x); len(miss) > 0 {
		// The caller's extractor lacks the red-flag phrasings; build one
		// that has them rather than under-triage.
		own, err := nlp.NewExtractor(kg, ExtractorOptions(kg)...)
		if err != nil {
			return nil, fmt.Errorf("triage: extractor with safety terms: %w", err)
		}
		x = own
	}
	e := &Engine{kg: kg, x: x, run: runner, opts: opts, feat: NewFeaturizer(kg), nb: newBayes(kg)}
	if runner == nil {
		e.gain = newGainTable(e)
		return e, nil
	}
	if opts.DepartmentModel != "-" {
		c, err := loadClassifier(runner, opts.DepartmentModel, opts.ModelVersion, "models/triage/train.py")
		if err != nil {
			return nil, fmt.Errorf("triage: department %w", err)
		}
		for _, l := range c.labels {
			if _, ok := kg.Department(l); !ok {
				return nil, fmt.Errorf("triage: department model %s/%s: label %q is not a department code of the knowledge graph", c.name, c.version, l)
			}
		}
		e.dept = c
	}
	c, err := optional(runner, opts.DiseaseModel, DefaultDiseaseModel, opts.ModelVersionDisease, "models/triage/train_disease.py")
	if err != nil {
		return nil, fmt.Errorf("triage: disease %w", err)
	}
	if c != nil {
		if err := e.loadDiseaseHead(c); err != nil {
			return nil, fmt.Errorf("triage: %w", err)
		}
	}
	if e.urgency, err = optional(runner, opts.UrgencyModel, DefaultUrgencyModel, opts.UrgencyModelVersion, "models/triage/train_urgency.py"); err != nil {
		return nil, fmt.Errorf("triage: urgency %w", err)
	}
	if e.urgency != nil {
		for _, l := range e.urgency.labels {
			if _, ok := levelRank[l]; !ok {
				return nil, fmt.Errorf("triage: urgency model %s/%s: label %q is not an urgency level", e.urgency.name, e.urgency.version, l)
			}
		}
	}
	// Each head reads the index vector of the vocabulary it was trained
	// on; heads trained together share one featurizer, so a request
	// computes its features once.
	var seen []*Featurizer
	for _, c := range []*classifier{e.dept, e.disease, e.urgency} {
		if c == nil {
			continue
		}
		for _, f := range seen {
			if c.feat.same(f) {
				c.feat = f
				break
			}
		}
		if len(seen) == 0 || seen[len(seen)-1] != c.feat {
			seen = append(seen, c.feat)
		}
	}
	if e.disease != nil && e.disease.second != 0 && e.disease.second != len(e.disease.feat.Symptoms()) {
		return nil, fmt.Errorf("triage: disease model %s/%s: second output has %d values, want one per symptom of its vocabulary (%d)", e.disease.name, e.disease.version, e.disease.second, len(e.disease.feat.Symptoms()))
	}
	e.gain = newGainTable(e)
	return e, nil
}

// Models lists the models the engine calls.
func (e *Engine) Models() []ModelRef {
	out := []ModelRef{}
	for _, c := range []*classifier{e.dept, e.disease, e.urgency} {
		if c != nil {
			out = append(out, c.ref())
		}
	}
	return out
}

// Validate checks a request without running it.
func (e *Engine) Validate(req *Request) error {
	n := utf8.RuneCountInString(req.Text)
	if strings.TrimSpace(req.Text) == "" {
		return invalid("text", "text must not be empty")
	}
	if !utf8.ValidString(req.Text) {
		return invalid("text", "text must be valid UTF-8")
	}
	if n > MaxTextRunes {
		return invalid("text", "text must be at most %d characters, got %d", MaxTextRunes, n)
	}
	if req.Age != nil && (math.IsNaN(*req.Age) || *req.Age < 0 || *req.Age > MaxAge) {
		return invalid("age", "age must be between 0 and %d years", MaxAge)
	}
	if req.Sex != "" && req.Sex != "male" && req.Sex != "female" {
		return invalid("sex", "sex must be male or female")
	}
	if req.TopK != 0 && (req.TopK < 1 || req.TopK > MaxTopK) {
		return invalid("top_k", "top_k must be between 1 and %d", MaxTopK)
	}
	if req.MaxQuestions < 0 || req.MaxQuestions > MaxQuestionsCap {
		return invalid("max_questions", "max_questions must be between 0 and %d", MaxQuestionsCap)
	}
	if len(req.Evidence) > 200 {
		return invalid("evidence", "at most 200 evidence answers")
	}
	for i, a := range req.Evidence {
		if _, ok := e.kg.Symptom(a.ID); !ok {
			return unprocessable("evidence", "evidence[%d]: unknown symptom id %q", i, truncate(a.ID, 64))
		}
		switch a.State {
		case StatePresent, StateAbsent, StateUnknown:
		default:
			return unprocessable("evidence", "evidence[%d]: state must be present, absent or unknown", i)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
