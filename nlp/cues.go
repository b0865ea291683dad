package nlp

// Built-in cue words. They sit in the same trie as the KG terms, so the
// longest match decides: 不舒服 (a symptom synonym) beats 不 (a negation).

// negationCues open a negation scope that runs to the end of the clause.
var negationCues = []string{
	"不", "没", "没有", "无", "未", "否认", "不是", "并不", "并没有", "并没", "并无",
	"从不", "从没", "从没有", "从来没有", "从来没", "从未", "毫无", "没什么", "不会",
	"也不", "都不", "也没", "也没有", "都没", "都没有", "一点也不", "一点都不", "一点也没有",
	"不再", "未见", "未再", "不曾", "不太", "不怎么", "尚未", "还没", "还没有", "排除",
}

// pseudoNegations look like negation but are not: questions, fixed
// phrases and potential complements.
var pseudoNegations = []string{
	"是不是", "会不会", "有没有", "要不要", "能不能", "算不算", "是否", "可不可以", "好不好",
	"无明显诱因", "无诱因", "无缘无故", "不知道", "不清楚", "不确定", "不一定", "不知", "不好说",
	"不少", "差不多", "不得不", "不好意思", "没办法", "没法", "无法", "没多久", "没几天",
	"不管", "不论", "无论", "不然", "要不然", "不光", "不但", "不仅", "没事", "不用",
	// Words that hold a symptom word but are none (打麻将 is no numbness).
	"麻将", "打麻将", "像触电一样", "触电一样", "像触电", "触电感", "触电样",
	// Figures of speech in pain: 疼时有想死的感觉 is not a plan to die.
	"想死的感觉", "疼得想死", "痛得想死", "疼的想死", "痛的想死", "生不如死", "难受死了",
	// A child wanted or borne is not the patient: 可以要孩子吗, 生孩子后.
	"要孩子", "要个孩子", "要宝宝", "要个宝宝", "生孩子", "生宝宝", "怀孩子", "要二胎", "生二胎", "要小孩", "生小孩", "带孩子",
	// Comparisons, not denials: 从来没这么疼过.
	"没这么", "没有这么", "从来没这么", "从没这么", "从来没有这么", "没那么", "没有那么",
}

// breakWords end a negation scope inside a clause: 不发烧但是咳嗽.
var breakWords = []string{
	"但", "但是", "可是", "不过", "却", "而是", "只是", "就是", "然而", "反而",
	"伴", "伴有", "还有", "而且", "并且", "同时", "倒是有", "但有", "只有",
}

// exceptCues mark an exception, whose mentions stay present even inside
// a negation: 除了头疼没别的不舒服.
var exceptCues = []string{"除了", "除开", "除去"}
var exceptEnds = []string{"以外", "之外", "外"}

// postNegations after a mention in the same clause mean it is gone:
// 烧已经退了, 咳嗽倒是没有.
var postNegations = []string{
	"没有", "没了", "没有了", "退了", "已退", "已经退了", "消失了", "已消失", "好了", "已经好了",
	"不明显", "倒是没有", "也没有", "都没有", "没出现", "没有出现", "是没有",
}

// severityCues map words to a severity.
var severityCues = map[string]string{
	"得厉害": "severe", "得很厉害": "severe", "得不行": "severe", "得要命": "severe", "得受不了": "severe",
	"得很": "severe", "还有点": "mild", "还有些": "mild", "还有一点": "mild",
	"剧烈": "severe", "剧痛": "severe", "厉害": "severe", "很厉害": "severe", "特别": "severe",
	"非常": "severe", "严重": "severe", "受不了": "severe", "难以忍受": "severe", "要命": "severe",
	"死去活来": "severe", "疼死了": "severe", "痛死了": "severe", "撕裂样": "severe", "刀割样": "severe",
	"钻心": "severe", "不得了": "severe", "极其": "severe",
	// A comparison is not a grade: 弯腰的时候更厉害.
	"更厉害": "moderate", "更严重": "moderate", "更明显": "moderate",
	"忍不住": "severe", "高烧": "severe", "高热": "severe",
	// The worst ever: 活这么大没这么疼过, 这辈子最疼的一次.
	"没这么疼过": "severe", "没这么痛过": "severe", "这辈子最疼": "severe", "从来没这么疼": "severe", "最疼的一次": "severe",
	"轻微": "mild", "轻度": "mild", "有点": "mild", "有点儿": "mild", "有些": "mild", "稍微": "mild",
	"稍有": "mild", "一点": "mild", "一点点": "mild", "隐隐": "mild", "微微": "mild", "略有": "mild",
	"低烧": "mild", "低热": "mild", "轻轻": "mild", "不太严重": "mild", "不严重": "mild",
	"比较": "moderate", "挺": "moderate", "中度": "moderate", "明显": "moderate", "还挺": "moderate",
	"一阵一阵": "intermittent", "一阵阵": "intermittent", "阵发性": "intermittent", "阵阵": "intermittent",
	"时有时无": "intermittent", "时好时坏": "intermittent", "断断续续": "intermittent", "反复": "intermittent",
	"偶尔": "intermittent", "间断": "intermittent", "有时候": "intermittent", "有时": "intermittent",
	"时不时": "intermittent", "不时": "intermittent", "间歇": "intermittent", "一会儿好一会儿": "intermittent",
	"经常": "intermittent", "常常": "intermittent", "时常": "intermittent", "频繁": "intermittent", "犯起病来": "intermittent",
	"发病时": "intermittent", "每次": "intermittent",
	"持续": "persistent", "一直": "persistent", "持续性": "persistent", "不停": "persistent",
	"不断": "persistent", "老是": "persistent", "总是": "persistent", "整天": "persistent",
	"一天到晚": "persistent", "不退": "persistent", "不见好": "persistent", "止不住": "persistent",
	"没停过": "persistent", "天天": "persistent", "每天": "persistent", "不止": "persistent",
	"不缓解": "persistent", "没完没了": "persistent", "一整天": "persistent",
}

// heads are symptom words that combine with a preceding body part:
// 膝盖 + 疼 → knee pain.
var heads = []string{
	"疼", "痛", "疼痛", "痒", "肿", "胀", "麻", "酸", "酸痛", "胀痛", "刺痛", "发麻", "发痒",
	"红肿", "发红", "出血", "流血", "发炎", "难受", "不舒服", "发热", "发烫", "发凉", "抽筋",
	"作痛", "晕", "溃疡", "肿块", "包块", "鲜血",
}

// headAlias folds equivalent heads so 疼 and 痛 compose to the same symptom.
var headAlias = map[string]string{
	"疼": "痛", "疼痛": "痛", "酸痛": "酸", "发麻": "麻", "发痒": "痒", "流血": "出血",
	"不舒服": "难受", "发烫": "发热", "作痛": "痛", "包块": "肿块", "鲜血": "出血",
}

// fillers may sit between a body part and its head: 肚子有点疼.
var fillers = map[rune]bool{
	'有': true, '点': true, '些': true, '很': true, '非': true, '常': true, '特': true, '别': true,
	'好': true, '一': true, '直': true, '老': true, '是': true, '总': true, '阵': true, '的': true,
	'地': true, '得': true, '部': true, '也': true, '还': true, '都': true, '又': true, '比': true,
	'较': true, '稍': true, '微': true, '隐': true, '经': true, '偶': true, '尔': true,
	'时': true, '突': true, '然': true, '挺': true, '儿': true, '两': true, '边': true, '侧': true,
	'左': true, '右': true, '上': true, '下': true, '里': true, '面': true, '头': false, '会': true,
	'在': true, '开': true, '始': true, '了': true, '感': true, '觉': true, '长': true, '个': true,
}

// patientCues describe who the patient is.
type patientCue struct {
	sex      string
	group    string
	pregnant bool
	child    bool    // words for a young child, used to read "8个月" as age
	age      float64 // years implied by the word itself (新生儿), 0 if none
}

var patientCues = map[string]patientCue{
	"男": {sex: "male"}, "男性": {sex: "male"}, "男的": {sex: "male"}, "先生": {sex: "male"},
	"儿子": {sex: "male", child: true}, "男孩": {sex: "male", group: "child", child: true}, "男孩子": {sex: "male", group: "child", child: true},
	"男宝": {sex: "male", group: "child", child: true}, "男宝宝": {sex: "male", group: "child", child: true},
	"爸爸": {sex: "male"}, "父亲": {sex: "male"}, "我爸": {sex: "male"}, "老公": {sex: "male"}, "丈夫": {sex: "male"},
	"爷爷": {sex: "male", group: "elderly"}, "外公": {sex: "male", group: "elderly"}, "姥爷": {sex: "male", group: "elderly"},
	"老爷子": {sex: "male", group: "elderly"}, "老大爷": {sex: "male", group: "elderly"}, "老父亲": {sex: "male", group: "elderly"},
	"女": {sex: "female"}, "女性": {sex: "female"}, "女的": {sex: "female"}, "女士": {sex: "female"},
	"女儿": {sex: "female", child: true}, "女孩": {sex: "female", group: "child", child: true}, "女孩子": {sex: "female", group: "child", child: true},
	"女宝": {sex: "female", group: "child", child: true}, "女宝宝": {sex: "female", group: "child", child: true}, "闺女": {sex: "female", child: true},
	"妈妈": {sex: "female"}, "母亲": {sex: "female"}, "我妈": {sex: "female"}, "老婆": {sex: "female"}, "妻子": {sex: "female"}, "媳妇": {sex: "female"},
	"奶奶": {sex: "female", group: "elderly"}, "外婆": {sex: "female", group: "elderly"}, "姥姥": {sex: "female", group: "elderly"},
	"老太太": {sex: "female", group: "elderly"}, "老母亲": {sex: "female", group: "elderly"}, "大妈": {sex: "female"},
	"月经": {sex: "female"}, "例假": {sex: "female"}, "大姨妈": {sex: "female"}, "白带": {sex: "female"},
	"婆婆": {sex: "female", group: "elderly"}, "公公": {sex: "male", group: "elderly"}, "伯伯": {sex: "male"}, "叔叔": {sex: "male"},
	"舅舅": {sex: "male"}, "阿姨": {sex: "female"}, "姑姑": {sex: "female"}, "婶婶": {sex: "female"}, "舅妈": {sex: "female"},
	"男朋友": {sex: "male"}, "女朋友": {sex: "female"},
	"老人": {group: "elderly"}, "老年人": {group: "elderly"}, "老人家": {group: "elderly"}, "老年": {group: "elderly"},
	"孩子": {group: "child", child: true}, "小孩": {group: "child", child: true}, "小孩子": {group: "child", child: true},
	"宝宝": {group: "child", child: true}, "小宝宝": {group: "child", child: true}, "宝贝": {group: "child", child: true},
	"婴儿": {group: "infant", child: true}, "新生儿": {group: "infant", child: true, age: 0.04},
	"满月的": {group: "infant", child: true, age: 0.08}, "满月了": {group: "infant", child: true, age: 0.08}, "才满月": {group: "infant", child: true, age: 0.08}, "刚满月": {group: "infant", child: true, age: 0.08}, "没满月": {group: "infant", child: true, age: 0.05}, "小婴儿": {group: "infant", child: true},
	"娃": {group: "child", child: true}, "小朋友": {group: "child", child: true}, "儿童": {group: "child", child: true},
	"幼儿": {group: "child", child: true}, "小学生": {group: "child"}, "初中生": {group: "child"},
	"怀孕": {sex: "female", pregnant: true}, "孕妇": {sex: "female", pregnant: true}, "妊娠": {sex: "female", pregnant: true},
	"孕期": {sex: "female", pregnant: true}, "孕早期": {sex: "female", pregnant: true}, "孕中期": {sex: "female", pregnant: true},
	"孕晚期": {sex: "female", pregnant: true}, "怀了": {sex: "female", pregnant: true}, "有身孕": {sex: "female", pregnant: true},
	"怀孕了": {sex: "female", pregnant: true}, "备孕": {sex: "female"},
}

// relTimes are onset words read as a duration in days.
var relTimes = map[string]float64{
	"昨天": 1, "昨日": 1, "昨晚": 1, "昨天晚上": 1, "昨夜": 1, "昨儿": 1, "昨天早上": 1, "昨天下午": 1,
	"前天": 2, "前晚": 2, "大前天": 3, "今天": 0.5, "今早": 0.5, "今天早上": 0.5, "今晨": 0.5,
	"今天上午": 0.5, "今天下午": 0.25, "今晚": 0.1, "刚才": 0.05, "刚刚": 0.05, "上周": 7, "上个星期": 7,
	"上礼拜": 7, "上个礼拜": 7, "上个月": 30, "上月": 30, "去年": 365, "前几天": 3, "这几天": 3,
	"近几天": 3, "最近几天": 3, "这两天": 2, "这几个月": 90, "半夜": 0.5, "早上起来": 0.5,
}
