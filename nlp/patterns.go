package nlp

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Pattern findings: red-flag findings patients word in too many orders for a
// synonym list (吐了好几口暗红色的血, 脸憋得青紫). Each is a regular
// expression over one clause of the normalized text; a match becomes a
// symptom mention like a dictionary word, with its span, context and the
// patient's own words. A match is dropped when its skip expression matches
// around it, or when a negation cue stands right before it in the same
// clause (the pattern itself holds the negative words of the finding, such
// as 没劲 or 动不了, so negation inside the match does not count).

// clause is one run of text between punctuation marks.
const clause = `[^，,。；;！!？?、\s]`

// safetyPattern reads one finding.
type safetyPattern struct {
	id   string
	re   *regexp.Regexp
	skip *regexp.Regexp
	// textSkip drops the finding when the whole text matches it (中风后
	// 想做康复训练 is not a new stroke).
	textSkip *regexp.Regexp
}

// sequelae marks an old, known deficit rather than a new one.
var sequelae = regexp.MustCompile(`康复|后遗症|中风后|脑梗后|脑出血后|偏瘫[0-9一二三四五六七八九十几多]+年|好几年了|多年`)

func pat(id, re, skip string) safetyPattern {
	p := safetyPattern{id: id, re: regexp.MustCompile(strings.ReplaceAll(re, "C", clause))}
	if skip != "" {
		p.skip = regexp.MustCompile(skip)
	}
	switch id {
	case "hemiplegia", "facial_droop", "one_side_numbness":
		p.textSkip = sequelae
	}
	return p
}

var safetyPatterns = []safetyPattern{
	// 胳膊摔了，肿得厉害: local swelling after an injury.
	pat("edema", `肿(得|起来了|起来|起|老高|成)`, ""),
	// 癫痫发作的诱因 names the disease; 癫痫发作了, 羊癫疯又犯了 tell an event.
	pat("seizure", `(癫痫|羊癫疯|羊角风|抽风)C{0,2}(又|突然|刚刚|刚才|今天|昨晚|昨天)?C{0,2}(发作了|犯了|抽了|发了|又发|又犯)`, ""),
	pat("hematemesis", `吐[了出]?C{0,8}血`, `痰|牙|口水|唾沫|血丝|咳`),
	pat("melena", `(大便|粪便|屎|粑粑|便便|拉的|屙的|解的|拉出来的)C{0,5}(黑|柏油|沥青)`, ""),
	pat("bloody_stool", `(大便|粪便|屎|粑粑|便便|屙|拉)C{0,4}血`, `潜血|隐血|拉肚子|血糖|血压`),
	pat("major_bleeding", `(一大摊|一大滩|一地的?|满地|好大一摊|一大盆)血|血C{0,4}(止不住|止不了|往外喷|喷出|哗哗|往外冒|往外涌)|喷血|血流不止|流了(好多|很多|一大堆)血`, ""),
	pat("cyanosis", `(嘴唇|嘴巴|嘴|口唇|脸|脸色|面色|指甲|憋)C{0,3}(发紫|青紫|紫了|乌青|发青|发乌|乌紫|紫绀|发黑)`, `淤|瘀|磕|撞|碰|眼圈|黑眼圈|色斑|晒`),
	pat("severe_dyspnea", `(鼻翼|鼻孔)C{0,3}(扇|煽|一张一张)|(肋骨|肋间|胸口|锁骨|胸骨)C{0,5}(凹|陷)`, `囟`),
	pat("hemiplegia", `(一边|一侧|半边|半身|半拉|左边|右边|左侧|右侧|左半边|右半边)C{0,4}(胳膊|手臂|手脚|腿脚|身子|身体|肢体|手和腿|手腿|手和脚)C{0,6}(抬不起|没劲|没力|无力|不能动|动不了|不听使唤|不灵|使不上劲|不好使|拿不住|软塌塌|软了|软绵绵|瘫)`, ""),
	pat("hemiplegia", `(手|胳膊|腿)C{0,6}突然C{0,4}(拿不住|抬不起|没劲|使不上劲|不听使唤|不能动|动不了)|突然C{0,6}(手|胳膊|腿)C{0,4}(拿不住|抬不起|没劲|使不上劲|不听使唤)`, ""),
	pat("hemiplegia", `(左|右|一侧|一边)(手|胳膊|腿|脚)C{0,6}(拿不住|抬不起|没劲|使不上劲|不听使唤|不能动|动不了)`, `康复|后遗症`),
	pat("bloody_stool", `(大便|粪便)C{0,6}出血`, `潜血|隐血`),
	pat("neck_lump", `(脖子|颈部|颈)C{0,6}(包|疙瘩|肿块|硬块|结节)`, ""),
	pat("breast_lump", `乳房C{0,6}(硬块|肿块|包|疙瘩|结节)`, ""),
	pat("axillary_lump", `(腋下|胳肢窝)C{0,6}(包|疙瘩|肿块|硬块)`, ""),
	pat("groin_bulge", `(大腿根|腹股沟)C{0,6}(包|鼓)`, ""),
	pat("anal_lump", `(屁股|肛门)C{0,6}(肿物|包|肉球|疙瘩)`, ""),
	pat("heavy_menstruation", `(月经|例假|大姨妈)C{0,6}(量多|量特别多|量很多|量大)`, ""),
	pat("blurred_vision", `看C{0,5}(模糊|不清楚|不清|发花|重影)`, `看病|看医生|看了`),
	pat("hair_loss", `头发C{0,6}掉`, ""),
	pat("wound", `(割|切|划|砍)C{0,4}(口子|伤口)`, ""),
	pat("exertional_chest_pain", `(爬楼|爬两层楼|上楼|走路|走快|活动|干活|跑步|运动)C{0,6}(胸闷|胸口闷|胸痛|胸口疼|胸口痛|心口疼)`, ""),
	pat("one_side_numbness", `(一边|一侧|半边|半身|左边|右边|左侧|右侧|左半边|右半边)C{0,4}(胳膊|手臂|手脚|身子|身体|肢体|脸)C{0,4}麻`, ""),
	pat("facial_droop", `(半边脸|一边脸|一侧脸|脸)C{0,3}(垮|耷拉|歪|塌|往下掉|不对称)|(嘴|嘴角|口角)C{0,4}(歪|斜|往一边)`, ""),
	pat("suicidal_ideation", `(想|要|打算|准备|企图)C{0,6}(跳楼|跳下去|跳河|跳江|割腕|上吊|自杀|寻死|轻生|一了百了|结束自己|了结自己|结束生命|去死)`, ""),
	pat("poisoning", `(把|偷吃|误服|误吃|吃了|吞了)C{0,6}(降压药|降糖药|安眠药|药片|药丸)C{0,4}(吃了|吞了)?C{0,3}(好几|很多|好多|一把|一板|一瓶|[0-9几两三四五六七八九十]+)(粒|片|颗)`, ""),
	pat("poisoning", `(误喝|误服|误吃|误食|喝了|吃了|吞了|服了|喝下|吞下|吃下|喝|吞)C{0,8}(农药|消毒液|消毒水|84|洗洁精|洁厕|老鼠药|鼠药|敌敌畏|百草枯|除草剂|杀虫剂|安眠药|一整瓶|一瓶药|一把药|整瓶|一板药|汽油|煤油|强酸|强碱|火碱|漂白|甲醇|毒蘑菇|野蘑菇|野生菌)`, ""),
	pat("eye_trauma", `(石灰|碱|强酸|硫酸|盐酸|消毒液|洗洁精|化学品|漂白|洁厕)C{0,8}眼|眼C{0,6}(石灰|碱|强酸|硫酸|消毒液|化学品|漂白|洁厕)`, ""),
	pat("foreign_body_eye_ear_nose", `(眼睛|眼里|眼内)C{0,6}(溅|崩|扎|戳|进了|飞进|迸|铁屑|铁渣|沙子|异物)|(铁屑|铁渣|沙子|玻璃渣|木屑)C{0,6}眼`, `石灰|碱|酸|消毒液|化学`),
	pat("severe_abdominal_pain", `(肚子|腹部|小肚子|下腹|上腹)C{0,4}(剧痛|剧烈|疼得打滚|痛得打滚|疼得要命|痛得要命|直不起腰)`, ""),
	pat("head_trauma", `(砸|撞|磕|碰|摔|被打)C{0,3}(头|脑袋|脑壳|后脑勺|脑门)|(头|脑袋|脑壳|后脑勺|脑门)C{0,2}(被砸|被撞|被打|撞|磕|着地)`, `头晕|头疼|头痛`),
	pat("open_fracture", `骨头C{0,4}(露|戳|刺|穿|支|扎)出`, ""),
	pat("consciousness_disturbance", `(喊|叫|唤)C{0,3}(只会哼|只哼哼|不怎么应|不太应|不大应|没反应|不答应|不理人|不怎么醒|不太醒|醒不过来)|(喊|叫)C{0,2}不醒`, ""),
	pat("chest_pain", `(胸口|胸部|胸前|心口)C{0,6}(疼|痛)`, ""),
	pat("sweating", `出了?C{0,3}的?汗|一身汗|满身是?汗|满头是?汗`, `盗汗|晚上|睡着|夜里`),
	pat("rupture_of_membranes", `(下面|阴道|下身)C{0,4}(流出|流|淌|出)C{0,3}水|破水|羊水破`, ""),
	pat("high_fall", `从C{0,6}(架子|楼|梯子|树|屋顶|房顶|高处|墙|脚手架|阳台|山)上?C{0,2}(掉|摔|跌|跳|滚|栽)下`, ""),
	pat("abdominal_trauma", `(肚子|腹部)C{0,2}被C{0,4}(撞|顶|砸|踢|压|打|捅)|(撞|顶|砸|踢|捅)C{0,3}(肚子|腹部)`, ""),
	pat("chest_trauma", `(胸口|胸部)C{0,2}被C{0,4}(撞|顶|砸|踢|压|打|捅)|(撞|顶|砸|踢|捅)C{0,3}(胸口|胸部)`, ""),
	pat("drowning", `(河|水里|湖|塘|泳池|游泳池|水库|海里|井里)C{0,6}(捞上来|救上来|拉上来|呛水|淹)|溺水|呛了好多水`, ""),
	pat("suicidal_ideation", `(就|要|想|准备|打算)C{0,2}去死|活不下去|再也撑不下去|不想再活`, ""),
	pat("severe_dyspnea", `说话就喘|说不了几个字|说不出整句|坐着都(喘|憋)|躺着都喘|休息也喘|一动就喘不上`, ""),
	pat("renal_colic", `(腰|后腰|腰眼)C{0,6}绞痛`, ""),
	pat("trauma", `(胳膊|腿|手腕|手|脚|膝盖|胳膊肘|脚踝|肩膀)C{0,3}(摔|撞|砸|扭|磕)(了|伤|到|断)`, ""),
	pat("animal_bite", `被C{0,2}(狗|猫|老鼠|猴子|蝙蝠)C{0,3}(咬|抓|挠)`, ""),
	pat("foreign_body_eye_ear_nose", `(鼻孔|鼻子|耳朵|耳朵眼)C{0,3}(塞|卡|掉|钻)C{0,6}进|(鼻孔|鼻子|耳朵|耳朵眼)里C{0,4}(有|卡着|塞着|塞了|卡了)C{0,3}(东西|异物|豆|珠|纽扣|电池|纸|虫|玩具)`, ""),
	pat("amenorrhea", `(月经|大姨妈|例假)C{0,4}(推迟|没来|晚了|迟了|停了)|停经`, ""),
}

// Findings read by pattern that are exposures rather than complaints: what
// the patient ate, touched or breathed just before.
var exposurePatterns = []safetyPattern{
	pat("allergen_exposure", `(吃了|喝了|打了|输了|用了|吃完|打完|输完|接触了|碰了)C{0,6}(虾|蟹|海鲜|花生|芒果|螺|贝|坚果|青霉素|头孢|针|输液|疫苗|染发剂)`, ""),
	pat("co_exposure", `煤气|燃气|热水器|烧炭|炭火|煤炉|一氧化碳|蜂窝煤|烤火`, `煤气灶做饭|燃气费`),
	pat("deep_wound", `(口子|伤口)C{0,4}(深|很大|很长|缝)|缝针|要缝|见骨|露出肉`, ""),
}

// matchPatterns applies the patterns to the normalized text and returns the
// symptom tokens they read, each the first match of its pattern that
// survives its skip and negation checks.
func (x *Extractor) matchPatterns(text []rune, toks []token, clauseOf []int) []token {
	s := string(text)
	// byte offset → rune offset
	runeAt := make([]int, len(s)+1)
	r := 0
	for b := range s {
		runeAt[b] = r
		r++
	}
	runeAt[len(s)] = r
	var out []token
	for _, list := range [][]safetyPattern{safetyPatterns, exposurePatterns} {
		for _, p := range list {
			e := x.symptomEntry(p.id)
			if e < 0 || p.textSkip != nil && p.textSkip.MatchString(s) {
				continue
			}
			for _, loc := range p.re.FindAllStringIndex(s, -1) {
				// The skip words may sit anywhere earlier in the clause
				// (吐痰会吐出血 is sputum).
				from := loc[0]
				for from > 0 {
					r, size := utf8.DecodeLastRuneInString(s[:from])
					if strings.ContainsRune("，,。；;！!？?、 \t\n", r) || loc[0]-from >= 24 {
						break
					}
					from -= size
				}
				if p.skip != nil && p.skip.MatchString(s[from:loc[1]]) {
					continue
				}
				st, en := runeAt[loc[0]], runeAt[loc[1]]
				if negatedBefore(text, st) {
					continue
				}
				if hasToken(toks, p.id, x, st, en) {
					break
				}
				out = append(out, token{kind: kSymptom, start: st, end: en, entry: e, clause: clauseOf[st], pattern: true})
				break
			}
		}
	}
	return out
}

// hasToken reports a symptom token of id overlapping [start, end).
func hasToken(toks []token, id string, x *Extractor, start, end int) bool {
	for _, t := range toks {
		if t.kind == kSymptom && t.entry >= 0 && x.entries[t.entry].id == id && t.start < end && start < t.end {
			return true
		}
	}
	return false
}

var (
	negBefore  = []string{"没", "不", "无", "未", "否认"}
	negFillers = []string{"过", "有", "出现", "发现", "见", "是", "再"}
)

// negatedBefore reports whether a negation cue stands right before at, in
// the same clause: "没有吐血" is negated, but "说话不清，右边手脚没力气" is
// not — a 不 in an earlier clause or inside another finding (不清) must
// not silence a red flag.
func negatedBefore(text []rune, at int) bool {
	from := at - 5
	if from < 0 {
		from = 0
	}
	pre := string(text[from:at])
	if i := strings.LastIndexAny(pre, "，,。；;！!？?、 \t\n"); i >= 0 {
		_, size := utf8.DecodeRuneInString(pre[i:])
		pre = pre[i+size:]
	}
	for _, filler := range negFillers {
		pre = strings.TrimSuffix(pre, filler)
	}
	for _, n := range negBefore {
		if strings.HasSuffix(pre, n) {
			return true
		}
	}
	return false
}
