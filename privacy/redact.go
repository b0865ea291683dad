// Package privacy removes personal identifiers from patient text before it is
// kept anywhere (the audit log today; logs and the web console may reuse it).
//
// Redact favours safety over precision: any 18-character 身份证 candidate is
// replaced whether or not its check digit is valid, and long digit runs are
// treated as card numbers. Clinical numbers (39.5度, 500mg, 3岁, 2024-01-02)
// are left alone because they never have the shape of an identifier.
package privacy

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Placeholders that replace what Redact finds.
const (
	Phone = "[电话]"
	ID    = "[身份证]"
	Name  = "[姓名]"
	Email = "[邮箱]"
	Card  = "[卡号]"
)

// A digit is ASCII or full-width: patients type both.
const d = `[0-9０-９]`

var (
	email = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// Patterns that must not touch a neighbouring digit, tried longest first:
	// a run of 20 digits holds no 18-digit 身份证, and 19 are a card, not a phone.
	digitRules = []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(d + `{17}[0-9０-９XxＸｘ]`), ID},
		{regexp.MustCompile(d + `{16,19}`), Card},
		{regexp.MustCompile(d + `{15}`), ID},
		// Mainland mobiles, optionally +86 / 86 / (+86), in groups 3-4-4 split by - or spaces.
		{regexp.MustCompile(`(?:[(（]?[+＋]?86[)）]?[-\s]?)?[1１][3-9３-９]` + d + `(?:[-\s]?` + d + `{4}){2}`), Phone},
		// Landlines: 0 + 2–3 digit area code, optionally in brackets, then 7–8
		// digits, possibly split 3-4 or 4-4.
		{regexp.MustCompile(`[(（]?[0０]` + d + `{2,3}[)）]?[-\s]?` + d + `{3,4}[-\s]?` + d + `{4}`), Phone},
	}
)

// Redact returns s with phone numbers, 身份证号, e-mail addresses, card
// numbers and self-introduced names replaced by placeholders.
func Redact(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "@") {
		s = email.ReplaceAllString(s, Email)
	}
	// The shortest number redacted (a landline) has 10 digits; most
	// complaints have a temperature and a duration at most.
	if digits(s) >= 10 {
		// Matches do not overlap, so a skipped match (glued to a longer
		// number) can hide one that starts inside it; repeat until nothing
		// changes so that Redact is idempotent (found by FuzzRedact).
		for range 8 {
			before := s
			for _, r := range digitRules {
				s = replaceDigits(s, r.re, r.with)
			}
			if s == before {
				break
			}
		}
	}
	return redactNames(s)
}

// replaceDigits replaces matches of re that are not part of a longer number.
// Letters around a match do not protect it: tel13812345678 is a phone.
func replaceDigits(s string, re *regexp.Regexp, with string) string {
	locs := re.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		start, end := l[0], l[1]
		if gluedBefore(s[:start]) || gluedAfter(s[end:]) {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(with)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// gluedBefore reports whether the text before a match ends in a digit or a
// decimal point after one (0.13812345678 is a number, not a phone).
func gluedBefore(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	if r == '.' {
		r, _ = utf8.DecodeLastRuneInString(s[:len(s)-n])
	}
	return isDigit(r)
}

// gluedAfter is gluedBefore for the text after a match; a sentence's final
// period is not a decimal point.
func gluedAfter(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	if r == '.' {
		r, _ = utf8.DecodeRuneInString(s[n:])
	}
	return isDigit(r)
}

func digits(s string) int {
	n := 0
	for _, r := range s {
		if isDigit(r) {
			n++
		}
	}
	return n
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }

// Names are found only after phrases that introduce one; a bare Han word is
// never taken for a name. Strong cues (我叫, 名叫, 姓名：) take the next 1–3
// Han characters; weak ones (我是, 本人, 患者, 病人) need a common surname, a
// clause boundary after the name and no clinical character in it, so that
// 患者高血压 and 我是孕妇 stay.
var (
	strongCues = []string{"我叫", "名叫", "名字叫", "名字是", "姓名是", "姓名:", "姓名：", "姓名 "}
	weakCues   = []string{"我是", "本人是", "本人", "患者", "病人", "患儿"}
	surnameCue = []string{"我姓", "本人姓", "患者姓", "病人姓", "他姓", "她姓", "孩子姓"}
)

// notNameStart are characters that follow 我叫 in sentences without a name
// (我叫了救护车, 我叫不醒他, 我叫医生).
const notNameStart = "了不他她它你我们醒救医过着人车家来去一妈爸这那什怎"

// clinical are characters that do not occur in given names but do occur in
// the complaints that follow 患者/我是 (高血压, 黄疸, 发热).
const clinical = "病痛疼热烧咳痰血压糖炎肿晕吐泻癌瘤伤症疸带疹痒酸麻胀闷喘孕产妇岁年周次"

// clinicalStrong is the part of clinical that rules out a name even after 我叫:
// 这种病名叫肺炎.
const clinicalStrong = "病痛疼炎癌瘤症疸疹痒"

// stopAfter ends a name early: 我叫张三今年30岁 → 张三.
const stopAfter = "今男女的是在有因从最昨前已于和也就住家身电手号，,。.、；;：:！!？? \t\n"

// compound surnames take two characters after 我姓.
var compound = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙", "夏侯", "端木", "公孙", "宇文", "司徒", "澹台", "呼延", "南宫", "万俟", "闻人", "申屠", "独孤", "钟离"}

// common is a list of the most common Chinese surnames (about 85% of people).
const common = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"

func redactNames(s string) string {
	if !strings.ContainsAny(s, "叫名是本患病姓") {
		return s
	}
	rs := []rune(s)
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); {
		if n, skip := nameAt(rs, i); skip > 0 {
			out = append(out, rs[i:i+skip]...)
			out = append(out, []rune(Name)...)
			i += skip + n
			continue
		}
		out = append(out, rs[i])
		i++
	}
	return string(out)
}

// nameAt reports whether a cue starts at rs[i]: skip is the cue's length and
// n the length of the name after it (0, 0 when there is none).
func nameAt(rs []rune, i int) (n, skip int) {
	for _, cue := range surnameCue {
		if k := hasPrefix(rs, i, cue); k > 0 {
			j := i + k
			m := 0
			for _, c := range compound {
				if hasPrefix(rs, j, c) > 0 {
					m = 2
				}
			}
			if m == 0 && j < len(rs) && isHan(rs[j]) && !strings.ContainsRune("名什啥了的是"+clinical, rs[j]) {
				m = 1
			}
			if m == 0 {
				continue
			}
			// 我姓李，叫李明 / 我姓李名明: the given name follows.
			e := j + m
			for _, tail := range []string{"，名叫", ",名叫", "，叫", ",叫", "名叫", "叫", "名"} {
				if t := hasPrefix(rs, e, tail); t > 0 {
					if g := hanRun(rs, e+t, 3, ""); g > 0 {
						return e + t + g - j, k
					}
				}
			}
			return m, k
		}
	}
	for _, cue := range strongCues {
		if k := hasPrefix(rs, i, cue); k > 0 {
			j := i + k
			for j < len(rs) && (rs[j] == ' ' || rs[j] == '　') {
				j++
			}
			if j >= len(rs) || strings.ContainsRune(notNameStart, rs[j]) {
				return 0, 0
			}
			if m := hanRun(rs, j, 3, clinicalStrong); m > 0 {
				return m, j - i
			}
		}
	}
	for _, cue := range weakCues {
		if k := hasPrefix(rs, i, cue); k > 0 {
			j := i + k
			if j >= len(rs) || !strings.ContainsRune(common, rs[j]) {
				continue
			}
			m := hanRun(rs, j, 3, clinical)
			if m < 2 {
				continue
			}
			if e := j + m; e < len(rs) && !strings.ContainsRune(stopAfter, rs[e]) && !isDigit(rs[e]) {
				continue // 我是王府井… reads on: not a name
			}
			return m, k
		}
	}
	return 0, 0
}

// hanRun is the length of the name starting at rs[j]: up to max Han
// characters, cut before a stopAfter character from the third on (张三今年 →
// 张三; 于 and 时 are surnames, 有 can be a given name); 0 when a character
// of reject is in it.
func hanRun(rs []rune, j, max int, reject string) int {
	n := 0
	for n < max && j+n < len(rs) && isHan(rs[j+n]) {
		if n >= 2 && strings.ContainsRune(stopAfter, rs[j+n]) {
			break
		}
		n++
	}
	for _, r := range rs[j : j+n] {
		if strings.ContainsRune(reject, r) {
			return 0
		}
	}
	return n
}

func hasPrefix(rs []rune, i int, p string) int {
	k := 0
	for _, r := range p {
		if i+k >= len(rs) || rs[i+k] != r {
			return 0
		}
		k++
	}
	return k
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }
