package triage

// DefaultUrgencyModel is the repository name of the urgency classifier
// (models/triage/train_urgency.py), which may only raise the rules' level.
const DefaultUrgencyModel = "triage-urgency"

// defaultUrgencyThreshold is how sure the classifier must be of a level
// before it may raise the rules' level to it.
const defaultUrgencyThreshold = 0.9

// urgencyLevels maps the urgency head's output to level → probability.
func (e *Engine) urgencyLevels(probs []float32) map[string]float64 {
	out := make(map[string]float64, len(probs))
	for i, p := range probs {
		out[e.urgency.labels[i]] = float64(p)
	}
	return out
}

// modelRaise is the level the classifier vouches for: the most urgent level
// whose cumulative probability (that level or more urgent) reaches
// threshold. Summing upwards means "emergency 0.6 + urgent 0.35" still
// vouches for at least urgent.
func modelRaise(probs map[string]float64, threshold float64) string {
	levels := []string{LevelEmergency, LevelUrgent, LevelRoutine, LevelSelfCare}
	var cum float64
	for _, l := range levels {
		cum += probs[l]
		if cum >= threshold {
			return l
		}
	}
	return LevelSelfCare
}

// raiseUrgency lets the classifier raise u (never lower it), and only to
// urgent or emergency: it is there to catch what the rules miss, and
// moving self_care to routine is not worth its false alarms. The reason
// says that a model, not a rule, asked for the higher level.
func raiseUrgency(u *Urgency, probs map[string]float64, threshold float64) bool {
	l := modelRaise(probs, threshold)
	// An emergency is said only on grounds the text states (a red flag or
	// an emergency picture, both citing their spans): the model, which
	// cites nothing, may ask for a visit today, not for an ambulance.
	if l == LevelEmergency {
		l = LevelUrgent
	}
	if levelRank[l] <= levelRank[u.Level] || levelRank[l] < levelRank[LevelUrgent] {
		return false
	}
	u.Level, u.Label = l, LevelLabels[l]
	switch l {
	case LevelEmergency:
		u.Reasons = append(u.Reasons, "描述整体提示可能为急危重情况（模型判断），请立即急诊或拨打120")
	case LevelUrgent:
		u.Reasons = append(u.Reasons, "描述整体提示需要尽快就医（模型判断），建议24小时内就诊")
	}
	return true
}
