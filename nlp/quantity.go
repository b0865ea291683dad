package nlp

// Number, duration, temperature and age expressions, scanned by hand
// (no regexp) to keep extraction fast.

var cnDigits = map[rune]float64{
	'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5,
	'六': 6, '七': 7, '八': 8, '九': 9,
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isNumStart(r rune) bool {
	if isDigit(r) {
		return true
	}
	_, ok := cnDigits[r]
	return ok || r == '十' || r == '半' || r == '几' || r == '数' || r == '好'
}

// parseNumber reads an Arabic or Chinese number (up to the thousands, with
// 半/几/十几) at text[i]; it is the one number reader of the project. It returns the value and the runes consumed.
func parseNumber(text []rune, i int) (float64, int) {
	n := len(text)
	if i >= n {
		return 0, 0
	}
	if isDigit(text[i]) {
		j, v := i, 0.0
		for j < n && isDigit(text[j]) && j-i < 6 {
			v = v*10 + float64(text[j]-'0')
			j++
		}
		if j+1 < n && text[j] == '.' && isDigit(text[j+1]) {
			f := 0.1
			j++
			for j < n && isDigit(text[j]) && f > 1e-4 {
				v += f * float64(text[j]-'0')
				f /= 10
				j++
			}
		}
		return v, j - i
	}
	j := i
	switch {
	case text[j] == '半':
		return 0.5, 1
	case text[j] == '数' || text[j] == '几':
		return 3, 1
	case text[j] == '好' && j+1 < n && text[j+1] == '几':
		return 4, 2
	}
	// unit is the place value of the last 十/百/千 read: a digit right
	// after 百 or 千 without 零 is the next place down (一百八 = 180,
	// 一千二 = 1200), after 零 it is units (一百零八 = 108).
	v, cur, unit, zero := 0.0, -1.0, 0.0, false
	for j < n {
		r := text[j]
		if d, ok := cnDigits[r]; ok {
			if d == 0 && unit > 0 && cur < 0 {
				zero = true
				j++
				continue
			}
			if cur >= 0 { // 一二 is not a number we read; stop
				break
			}
			cur = d
			j++
			continue
		}
		place := 0.0
		switch r {
		case '十':
			place = 10
		case '百':
			place = 100
		case '千':
			place = 1000
		case '几':
			if j > i {
				v += 5
				j++
				return v, j - i
			}
		}
		if place == 0 || (unit > 0 && place >= unit) {
			break
		}
		if cur < 0 {
			cur = 1
		}
		v += cur * place
		cur, unit, zero = -1, place, false
		j++
		if place == 10 && j < n && text[j] == '几' {
			v += 5
			j++
			return v, j - i
		}
	}
	if cur > 0 {
		if unit >= 100 && !zero {
			v += cur * unit / 10
		} else {
			v += cur
		}
	}
	if j == i {
		return 0, 0
	}
	return v, j - i
}

// quantity is one number-with-unit expression found in the text.
type quantity struct {
	kind       qkind
	start, end int
	value      float64 // days, °C, years or gestation weeks
}

type qkind uint8

const (
	qDuration qkind = iota + 1
	qTemperature
	qAge
	qGestation
)

// hasPrefix reports whether text[i:] starts with s.
func hasPrefix(text []rune, i int, s string) bool {
	for _, r := range s {
		if i >= len(text) || text[i] != r {
			return false
		}
		i++
	}
	return true
}

func matchAny(text []rune, i int, opts ...string) int {
	for _, s := range opts {
		if hasPrefix(text, i, s) {
			return len([]rune(s))
		}
	}
	return 0
}

// Age contexts for scanQuantity.
const (
	ctxNone    = iota
	ctxChild   // a word for a young child precedes: 宝宝8个月 is an age
	ctxBirth   // 出生/生下来 precedes: 出生10天 is an age
	ctxPreg    // 孕/怀孕 precedes: 孕32周 is a gestation
	ctxPerson  // a person word precedes: 我爸70了 is an age
	ctxSymptom // a symptom precedes: 发烧两天的孩子 is a duration
)

// childNouns name a young child; "<N>个月的" before one is an age.
var childNouns = []string{"小宝宝", "宝宝", "宝贝", "孩子", "小孩", "婴儿", "新生儿", "宝", "娃", "儿子", "女儿", "闺女", "男孩", "女孩", "小朋友"}

func childNounAt(text []rune, i int) bool {
	return matchAny(text, i, childNouns...) > 0
}

// scanQuantity reads a quantity starting at text[i] in the given context.
func scanQuantity(text []rune, i int, ctx int) (quantity, bool) {
	v, n := parseNumber(text, i)
	if n == 0 {
		return quantity{}, false
	}
	j := i + n
	q := quantity{start: i, value: v}
	// 39度5, 39.5℃, 三十八度五, 39°c, 38摄氏度
	if k := matchAny(text, j, "摄氏度", "度", "℃", "°c", "°"); k > 0 {
		j += k
		// 39度5 is 39.5, but 39度两天 is 39 for two days.
		if k == 1 && text[j-1] == '度' && j < len(text) {
			if d, m := parseNumber(text, j); m == 1 && d < 10 && d >= 0 &&
				matchAny(text, j+1, "天", "个", "周", "年", "月", "小时", "次", "日", "多天", "星期") == 0 {
				v += d / 10
				j++
			}
		}
		if v >= 34 && v <= 43 {
			q.kind, q.value, q.end = qTemperature, v, j
			return q, true
		}
		return quantity{}, false
	}
	// 发烧38.5, 体温39: a bare number in the fever range right after a
	// symptom, with no unit of time or count after it.
	if ctx == ctxSymptom && v >= 36 && v <= 43 && (j == len(text) || isHardBoundary(text[j]) ||
		matchAny(text, j, "天", "岁", "次", "小时", "个", "周", "月", "年", "分", "斤", "公斤", "毫", "多", "几", "k", "m") == 0 && !isDigit(text[j])) {
		q.kind, q.value, q.end = qTemperature, v, j
		return q, true
	}
	// 孕32周 / 怀孕三个月
	if ctx == ctxPreg {
		if k := matchAny(text, j, "周", "个星期", "星期"); k > 0 && v <= 45 {
			q.kind, q.value, q.end = qGestation, v, j+k
			return q, true
		}
		if k := matchAny(text, j, "个多月", "个月", "月"); k > 0 && v <= 10 {
			q.kind, q.value, q.end = qGestation, v*4.3, j+k
			return q, true
		}
	}
	// 我爸70了, 今年35
	if ctx == ctxPerson && v >= 1 && v <= 120 && v == float64(int(v)) {
		k := matchAny(text, j, "多了", "了", "多")
		if k > 0 || j == len(text) || isHardBoundary(text[j]) {
			q.kind, q.value, q.end = qAge, v, j+k
			return q, true
		}
	}
	// Ages: 三岁, 3周岁, 三岁半, 45岁
	if k := matchAny(text, j, "周岁", "岁"); k > 0 {
		j += k
		if j < len(text) && text[j] == '半' {
			v += 0.5
			j++
		}
		if v > 130 {
			return quantity{}, false
		}
		q.kind, q.value, q.end = qAge, v, j
		return q, true
	}
	unit, k := 0.0, 0
	switch {
	case hasPrefix(text, j, "个半月"):
		unit, k, v = 30, 3, v+0.5
	case hasPrefix(text, j, "个多月"):
		unit, k = 30, 3
	case hasPrefix(text, j, "个月"):
		unit, k = 30, 2
	case hasPrefix(text, j, "个多小时"):
		unit, k = 1.0/24, 4
	case hasPrefix(text, j, "个小时"), hasPrefix(text, j, "个钟头"):
		unit, k = 1.0/24, 3
	case hasPrefix(text, j, "小时"):
		unit, k = 1.0/24, 2
	case hasPrefix(text, j, "分钟"):
		unit, k = 1.0/1440, 2
	case hasPrefix(text, j, "个星期"), hasPrefix(text, j, "个礼拜"):
		unit, k = 7, 3
	case hasPrefix(text, j, "星期"), hasPrefix(text, j, "礼拜"):
		unit, k = 7, 2
	case hasPrefix(text, j, "天"), hasPrefix(text, j, "日"), hasPrefix(text, j, "晚"), hasPrefix(text, j, "宿"):
		unit, k = 1, 1
	case hasPrefix(text, j, "周"):
		unit, k = 7, 1
	case hasPrefix(text, j, "月"):
		// Bare 月 after a number is usually a date (3月), except 半月.
		if text[i] == '半' {
			unit, k = 30, 1
		}
	case hasPrefix(text, j, "年"):
		unit, k = 365, 1
	}
	if k == 0 {
		return quantity{}, false
	}
	j += k
	// 两天半, 一年半, 十多天, 三天多
	if j < len(text) && text[j] == '半' && unit >= 1 && v == float64(int(v)) {
		v += 0.5
		j++
	}
	end := j
	// 天大 / 个月大 after a child word → age; so is 两个月的宝宝.
	isAgeSuffix := j < len(text) && text[j] == '大'
	ofChild := ctx != ctxSymptom && unit >= 1 && unit <= 30 && j < len(text) && text[j] == '的' && childNounAt(text, j+1)
	if (ctx == ctxChild && unit == 30) || (ctx == ctxBirth && unit >= 1) || (isAgeSuffix && unit >= 1 && unit <= 30) || ofChild {
		if isAgeSuffix {
			end++
		}
		q.kind, q.value, q.end = qAge, v*unit/365, end
		if unit == 30 {
			q.value = v / 12
		}
		return q, true
	}
	q.kind, q.value, q.end = qDuration, v*unit, end
	return q, true
}
