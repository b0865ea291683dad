package nlp

// readVitals reads the value after each vital-sign cue: 血压150/95,
// 高压160低压100, 血糖11.2, 心率一百八, 血氧88%. Numbers go through
// parseNumber, the one number reader.
func readVitals(text, orig []rune, cues []cue, scopes *contextScopes) []Vital {
	var out []Vital
	for k, c := range cues {
		if c.kind != cVital || c.val == "bp_low" {
			continue
		}
		v1, p1, e1 := numberAfter(text, c.end, 6)
		if e1 == 0 {
			continue
		}
		v := Vital{Kind: c.val, Value: v1, Start: c.start, End: e1}
		switch c.val {
		case "bp":
			// 150/95, 150-95, 150比95; or 高压160低压100 (the next cue).
			j := e1
			for j < len(text) && (text[j] == ' ' || text[j] == 'm' || text[j] == 'h' || text[j] == 'g') && j-e1 < 4 {
				j++
			}
			if j < len(text) && (text[j] == '/' || text[j] == '-' || text[j] == '比' || text[j] == '~' || text[j] == '\\') {
				if v2, p2, e2 := numberAfter(text, j+1, 1); e2 > 0 && p2 == j+1 {
					v.Value2, v.End = v2, e2
				}
			} else if k+1 < len(cues) && cues[k+1].kind == cVital && cues[k+1].val == "bp_low" && cues[k+1].start-e1 <= 2 {
				if v2, _, e2 := numberAfter(text, cues[k+1].end, 3); e2 > 0 {
					v.Value2, v.End = v2, e2
				}
			}
			if v.Value < 50 || v.Value > 300 || v.Value2 != 0 && (v.Value2 < 20 || v.Value2 >= v.Value) {
				continue
			}
		case "glucose":
			if v.Value > 40 && v.Value < 1000 {
				v.Value /= 18 // mg/dL
			}
			if v.Value <= 0.5 || v.Value > 60 {
				continue
			}
		case "heart_rate":
			if v.Value < 20 || v.Value > 300 {
				continue
			}
		case "spo2":
			if v.Value < 40 || v.Value > 100 {
				continue
			}
		case "resp_rate":
			if v.Value < 5 || v.Value > 100 {
				continue
			}
		}
		_ = p1
		v.Text = string(orig[v.Start:v.End])
		v.Context = scopes.at(c.start, c.clause)
		out = append(out, v)
	}
	return out
}

// numberAfter finds a number within gap runes after from, in the same
// clause (a colon does not end it: 血压：150/95). It returns the value, its
// start and its end (0 when none).
func numberAfter(text []rune, from, gap int) (float64, int, int) {
	for j := from; j < len(text) && j-from <= gap; j++ {
		r := text[j]
		if isHardBoundary(r) && r != ':' && r != '：' && r != ' ' {
			return 0, 0, 0
		}
		if isDigit(r) || cnDigits[r] > 0 || r == '十' {
			if r == '一' && j+1 < len(text) && !isDigit(text[j+1]) && cnDigits[text[j+1]] == 0 && text[j+1] != '十' && text[j+1] != '百' {
				continue // 一般, 一直: not a number
			}
			v, n := parseNumber(text, j)
			if n == 0 {
				return 0, 0, 0
			}
			return v, j, j + n
		}
	}
	return 0, 0, 0
}
