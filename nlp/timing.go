package nlp

import (
	"strconv"
	"strings"
)

// Times as a record writes them: the patient's own words, with plain
// Chinese numerals as digits (两天 → 2天, 一年多 → 1年多, 十年 → 10年) and the
// usual short forms of a point in time (今天早上 → 今晨). A point is never
// turned into a duration, and vague words stay as they are (大半年, 半个多月).

// pointTimes are the short forms of points in time.
var pointTimes = map[string]string{
	"今天早上": "今晨", "今早": "今晨", "今晨": "今晨", "今天早晨": "今晨", "今天上午": "今日上午", "今天下午": "今日下午",
	"今天": "今日", "今日": "今日", "今晚": "今晚", "今天晚上": "今晚",
	"昨天": "昨日", "昨日": "昨日", "昨晚": "昨晚", "昨天晚上": "昨晚", "昨夜": "昨夜", "昨儿": "昨日",
	"昨天早上": "昨晨", "昨天下午": "昨日下午", "前天": "前日", "前晚": "前晚", "大前天": "大前天",
	"刚才": "刚才", "刚刚": "刚才", "上周": "上周", "上个星期": "上周", "上礼拜": "上周", "上个礼拜": "上周",
	"这两天": "近2天", "这几天": "近几天", "近几天": "近几天", "最近几天": "近几天", "前几天": "前几天", "这几个月": "近几个月",
	"上个月": "上月", "上月": "上月", "去年": "去年", "半夜": "半夜", "早上起来": "晨起",
}

// SaidTime writes a time the patient gave as a record does, or "" when s
// is not a time this package reads.
func SaidTime(s string) string {
	s = strings.TrimSpace(s)
	if p, ok := pointTimes[s]; ok {
		return p
	}
	r := []rune(s)
	var b strings.Builder
	for i := 0; i < len(r); {
		if isNumStart(r[i]) && r[i] != '半' && r[i] != '好' && r[i] != '几' && r[i] != '数' {
			v, n := parseNumber(r, i)
			if n > 0 && !strings.ContainsRune(string(r[i:i+n]), '几') && v == float64(int(v)) {
				b.WriteString(strconv.Itoa(int(v)))
				i += n
				continue
			}
		}
		b.WriteRune(r[i])
		i++
	}
	return b.String()
}

// IsPointTime reports a time that is a point (今晨, 昨晚, 3天前, 20号晚)
// rather than a duration (3天, 半年余): the record writes it as an onset
// (今晨起胸痛), not after the complaint (胸痛3天).
func IsPointTime(said string) bool {
	if IsRecentTime(said) {
		return false
	}
	if _, ok := pointTimes[said]; ok {
		return true
	}
	for _, p := range pointTimes {
		if p == said && !strings.HasPrefix(p, "近") && p != "前几天" {
			return true
		}
	}
	return strings.HasSuffix(said, "号") || strings.HasSuffix(said, "号晚")
}

// IsRecentTime reports a span up to now (近2天, 近几天): a record writes it
// before the complaint (近2天发热).
func IsRecentTime(said string) bool { return strings.HasPrefix(said, "近") }
