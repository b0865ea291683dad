package nlp

import "unicode"

// t2s maps common traditional characters to simplified ones, one rune to
// one rune so offsets into the original text stay valid. It covers the
// characters of symptom vocabulary; full conversion needs a real
// dictionary (OpenCC) and is out of scope.
var t2s = func() map[rune]rune {
	const trad = "發燒頭痛嘔吐瀉腫脹癢暈悶氣喘鼻塞涕喉嚨聲啞噁噯腸胃臟腎肺膽肝膚紅熱冷嗽瘡濕疹癬膿瘍視聽覺難過熱經質體溫腦頸背腰腿腳關節傷彎嬰兒歲個週禮拜兩沒無發瘋憂鬱慮睏乾澀淚眼鏡齒齦牙潰爛瘋癲癇搐驚厥顫麻痺咳痰濃黃綠帶血尿頻急閉經陰癢產婦懷孕時斷續陣劇烈輕微麼這樣說話聽見後來從開於裡裏嗎呢們還讓給對應該現實幾點鐘話題問題醫院診斷藥膚疤覺噴嚏癥狀狀態瘀傷長瘦變虛厲媽媽爺爺奶奶孫爸爸兒週歲衝擊極應漲脫髮"
	const simp = "发烧头痛呕吐泻肿胀痒晕闷气喘鼻塞涕喉咙声哑恶嗳肠胃脏肾肺胆肝肤红热冷嗽疮湿疹癣脓疡视听觉难过热经质体温脑颈背腰腿脚关节伤弯婴儿岁个周礼拜两没无发疯忧郁虑困干涩泪眼镜齿龈牙溃烂疯癫痫搐惊厥颤麻痹咳痰浓黄绿带血尿频急闭经阴痒产妇怀孕时断续阵剧烈轻微么这样说话听见后来从开于里里吗呢们还让给对应该现实几点钟话题问题医院诊断药肤疤觉喷嚏症状状态瘀伤长瘦变虚厉妈妈爷爷奶奶孙爸爸儿周岁冲击极应涨脱发"
	tr, sr := []rune(trad), []rune(simp)
	m := make(map[rune]rune, len(tr))
	for i := range tr {
		if i < len(sr) && tr[i] != sr[i] {
			m[tr[i]] = sr[i]
		}
	}
	return m
}()

// normalize folds text rune by rune (so rune offsets are preserved):
// full-width ASCII to half-width, upper to lower case, traditional to
// simplified for common characters, and control or format characters to
// a space, which acts as a clause boundary.
func normalize(text string, buf []rune) []rune {
	out := buf[:0]
	for _, r := range text {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || unicode.Is(unicode.Cf, r):
			r = ' '
		case r == unicode.ReplacementChar:
			r = ' '
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		} else if s, ok := t2s[r]; ok {
			r = s
		}
		out = append(out, r)
	}
	return out
}

// Fold returns text as the extractor reads it (see normalize): same rune
// count, simplified characters, half-width ASCII, lower case.
func Fold(text string) string { return string(normalize(text, nil)) }
