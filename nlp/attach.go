package nlp

// attachCues gives mentions the onset, side, character, radiation and extent
// their cues state, and records each cue's span as evidence.
func (x *Extractor) attachCues(orig []rune, toks []token, ms []mstate, cues []cue) {
	if len(ms) == 0 {
		return
	}
	cueSpan := func(c cue) Span { return Span{Text: string(orig[c.start:c.end]), Start: c.start, End: c.end} }
	for _, c := range cues {
		switch c.kind {
		case cOnset:
			k := nearest(toks, ms, c, 10, true)
			if k < 0 {
				k = lastOfClause(toks, ms, c.clause-1) // 头疼得要炸，突然发生的
			}
			if k >= 0 {
				ms[k].onset = "sudden"
				ms[k].cues = append(ms[k].cues, cueSpan(c))
				sp := cueSpan(c)
				ms[k].said.Onset = &sp
			}
		case cNew:
			if k := nearest(toks, ms, c, 10, true); k >= 0 && ms[k].onset == "" {
				ms[k].onset = "new"
				ms[k].cues = append(ms[k].cues, cueSpan(c))
			}
		case cSide:
			done := false
			for k := range ms {
				t := toks[ms[k].tok]
				if t.clause == c.clause && t.start >= c.start && t.start-c.end <= 3 {
					if ms[k].side == "" {
						ms[k].side = c.val
						ms[k].cues = append(ms[k].cues, cueSpan(c))
						sp := cueSpan(c)
						ms[k].said.Side = &sp
					}
					done = true
					break
				}
			}
			if done {
				break
			}
			// 左边胳膊也跟着疼: the side names the body part, which the
			// complaint later in the clause is about.
			for _, t := range toks {
				if t.kind != kBodyPart || t.clause != c.clause || t.start < c.end || t.start-c.end > 1 {
					continue
				}
				part := x.entries[t.entry].id
				for k := range ms {
					mt := toks[ms[k].tok]
					if mt.clause == c.clause && mt.start > t.start && ms[k].side == "" && x.mentionPart(ms[k], mt) == part {
						ms[k].side = c.val
						ms[k].cues = append(ms[k].cues, cueSpan(c))
						sp := cueSpan(c)
						ms[k].said.Side = &sp
					}
				}
				break
			}
		case cChar:
			k := -1
			for j := range ms {
				t := toks[ms[j].tok]
				if t.start < c.end && c.start < t.end {
					k = j // the cue is inside the symptom's own words (胸口绞痛)
					break
				}
			}
			if k < 0 {
				k = nearest(toks, ms, c, 12, false)
			}
			if k < 0 {
				k = lastOfClause(toks, ms, c.clause-1)
			}
			if k >= 0 && ms[k].char != "" && ms[k].char != c.val && len(ms[k].said.MoreCharacters) < 3 {
				ms[k].said.MoreCharacters = append(ms[k].said.MoreCharacters, cueSpan(c))
				ms[k].said.CharacterNames = append(ms[k].said.CharacterNames, c.val)
			}
			if k >= 0 && ms[k].char == "" {
				ms[k].char = c.val
				ms[k].cues = append(ms[k].cues, cueSpan(c))
				sp := cueSpan(c)
				ms[k].said.Character = &sp
			}
		case cRadiate:
			part, end := partAfter(x, toks, c, 4)
			if part == "" {
				continue
			}
			k := -1
			for j := range ms {
				t := toks[ms[j].tok]
				if t.end <= c.start+1 && (t.clause == c.clause || t.clause == c.clause-1) && x.entries[t.entry].id != "" {
					k = j
				}
			}
			if k >= 0 && ms[k].radiates == "" {
				ms[k].radiates = part
				ms[k].cues = append(ms[k].cues, Span{Text: string(orig[c.start:end]), Start: c.start, End: end})
				ms[k].said.Radiation = &Span{Text: string(orig[c.start:end]), Start: c.start, End: end}
			}
		case cExtent:
			k := nearest(toks, ms, c, 10, false)
			if k < 0 {
				k = lastOfClause(toks, ms, c.clause-1)
			}
			if k >= 0 {
				ms[k].extent = "widespread"
				ms[k].cues = append(ms[k].cues, cueSpan(c))
			}
		}
	}
	for k := range ms {
		t := toks[ms[k].tok]
		if ms[k].side == "" && t.end > t.start {
			switch orig[t.start] {
			case '左':
				ms[k].side = "left"
				ms[k].said.Side = &Span{Text: string(orig[t.start : t.start+1]), Start: t.start, End: t.start + 1}
			case '右':
				ms[k].side = "right"
				ms[k].said.Side = &Span{Text: string(orig[t.start : t.start+1]), Start: t.start, End: t.start + 1}
			}
		}
	}
}

// nearest returns the mention closest to cue c in its clause within max
// runes (after it first when after is set), or -1.
func nearest(toks []token, ms []mstate, c cue, max int, after bool) int {
	best, bestD := -1, max+1
	for k := range ms {
		t := toks[ms[k].tok]
		if t.clause != c.clause {
			continue
		}
		var d int
		switch {
		case t.start >= c.end:
			d = t.start - c.end
		case t.end <= c.start:
			d = c.start - t.end
			if after {
				d += max / 2 // prefer what follows 突然
			}
		default:
			d = 0
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func lastOfClause(toks []token, ms []mstate, clause int) int {
	k := -1
	for j := range ms {
		if toks[ms[j].tok].clause == clause {
			k = j
		}
	}
	return k
}

// partAfter finds the body part named within gap runes after a cue (疼到
// 左肩: the shoulder), from a body part or a symptom token; it returns the
// part id and where its word ends.
func partAfter(x *Extractor, toks []token, c cue, gap int) (string, int) {
	for _, t := range toks {
		if t.start < c.end || t.clause != c.clause {
			continue
		}
		if t.start-c.end > gap {
			break
		}
		switch t.kind {
		case kBodyPart:
			return x.entries[t.entry].id, t.end
		case kSymptom:
			if e := x.entries[t.entry]; e.part != "" {
				return e.part, t.end
			}
			if s, ok := x.kg.Symptom(x.entries[t.entry].id); ok && s.BodyPart != "" && s.BodyPart != "whole_body" {
				return s.BodyPart, t.end
			}
		}
	}
	return "", 0
}

// readPatient sets the patient facts that cues give: just delivered, and
// who wrote the text.
func (x *Extractor) readPatient(orig []rune, cues []cue, scopes *contextScopes, p *Patient) {
	var family *cue
	for i, c := range cues {
		if scopes.other[c.clause] {
			continue
		}
		switch c.kind {
		case cPostpartum:
			p.Postpartum = true
		case cReporterFamily, cRelative:
			if family == nil {
				family = &cues[i]
			}
		}
	}
	// 我8岁的女儿, 女儿发烧: a parent writes.
	if family == nil {
		for i := range orig {
			for _, w := range []string{"儿子", "女儿", "闺女", "孙子", "孙女"} {
				if hasPrefix(orig, i, w) && !scopes.other[clauseAtRune(cues, i)] {
					family = &cue{start: i, end: i + len([]rune(w))}
					break
				}
			}
			if family != nil {
				break
			}
		}
	}
	switch {
	case family != nil:
		p.Reporter = "家属"
		p.ReporterSpan = &Span{Text: string(orig[family.start:family.end]), Start: family.start, End: family.end}
	case p.AgeSpan != nil && ((p.AgeYears >= 0 && p.AgeYears < 7) || (p.AgeYears < 0 && (p.AgeGroup == "infant" || p.AgeGroup == "child"))):
		// A young child does not write: 男孩，13个月 is told by a parent.
		p.Reporter = "家属"
		sp := *p.AgeSpan
		p.ReporterSpan = &sp
	default:
		for i, r := range orig {
			if r == '我' {
				p.Reporter = "本人"
				p.ReporterSpan = &Span{Text: "我", Start: i, End: i + 1}
				break
			}
			if r == '本' && i+1 < len(orig) && orig[i+1] == '人' {
				p.Reporter = "本人"
				p.ReporterSpan = &Span{Text: "本人", Start: i, End: i + 2}
				break
			}
		}
	}
}

// mentionPart is the body part of a mention as it will be reported.
func (x *Extractor) mentionPart(m mstate, t token) string {
	if m.part != "" {
		return m.part
	}
	e := x.entries[t.entry]
	if e.part != "" {
		return e.part
	}
	if s, ok := x.kg.Symptom(e.id); ok {
		return s.BodyPart
	}
	return ""
}

// clauseAtRune is the clause of the last cue at or before position i (0
// when none): enough to tell a clause about someone else.
func clauseAtRune(cues []cue, i int) int {
	c := -1
	for _, k := range cues {
		if k.start > i {
			break
		}
		c = k.clause
	}
	return c
}
