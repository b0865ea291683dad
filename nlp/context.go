package nlp

// Cue words that place a finding in time and say whose it is and whether it
// is stated or only asked about. Like the other cues they sit in the trie, so
// the longest match decides (怕冷 is a symptom, not 怕).

// Contexts of a mention. The empty context is the patient's current
// complaint; only those findings may raise urgency.
const (
	CtxCurrent = ""
	// CtxHistory: in the past and over (去年心梗过, 以前抽过, 小时候得过哮喘).
	CtxHistory = "history"
	// CtxAsked: only asked or worried about (会不会是心梗？, 担心得脑瘤).
	CtxAsked = "asked"
	// CtxOther: someone else's (我妈得过乳腺癌, 家族史).
	CtxOther = "other"
)

// pastCues put the rest of their clause in the past unless the clause says
// the complaint goes on from then (去年开始腰疼 is a current complaint).
var pastCues = []string{"去年", "前年", "几年前", "多年前", "前几年", "那年", "当年", "上次", "往年", "早几年"}

// historyCues are past regardless of the clause (以前经常头疼, …病史, 得过).
var historyCues = []string{
	"以前", "从前", "过去", "小时候", "年轻时", "年轻的时候", "早年", "早些年", "曾经", "曾", "既往", "读书时", "上学时",
	"病史", "既往史", "得过", "患过", "有过", "以前有", "曾患", "曾有", "做过手术", "切除过", "治好了", "已治愈", "已经治愈",
	"已经好了", "痊愈",
}

// ongoingCues keep a clause with a past cue in the present.
var ongoingCues = []string{
	"开始", "以来", "至今", "到现在", "到今天", "一直到", "持续至今", "现在还", "还在", "还是", "又", "再次", "复发", "加重",
	"越来越", "起就",
}

// currentCues end a past or asked scope: 去年心梗过，现在胸口又疼.
var currentCues = []string{
	"现在", "目前", "最近", "近期", "这次", "这回", "今天", "今早", "今晚", "近日", "这几天", "这两天", "刚才", "刚刚", "当下", "眼下",
}

// askCues put what follows in their clause in question: it is asked or
// feared, not stated (会不会头晕, 担心得脑瘤, 如果发烧怎么办).
var askCues = []string{
	"会不会", "有没有可能", "可能得了", "担心", "担忧", "害怕", "恐怕", "怕得", "如果", "万一", "要是", "假如", "假设",
	"以免", "预防", "防止", "避免", "会引起", "会导致", "会造成", "会得", "容易得", "会变成", "发展成", "转变成", "转成",
	"会出现", "能不能", "能否", "会否", "排除",
}

// diagnosisAskCues question a diagnosis but not a complaint: 是不是心梗
// asks about a disease, while 是不是发烧了 still reports a feverish child.
var diagnosisAskCues = []string{"是不是", "是否", "可能是", "怀疑", "担心是", "会不会是", "怕是", "疑似", "考虑是", "难道是"}

// resultWords tell of the patient's own test results (体检发现尿酸高): a
// question about them is an outpatient matter, not health education.
var resultWords = []string{
	"体检", "检查发现", "查出", "查出来", "化验", "报告", "指标", "偏高", "偏低", "升高", "降低", "阳性", "超标", "异常", "结果",
	"B超", "彩超", "CT", "核磁", "胃镜", "肠镜", "拍片", "片子",
}

// knowledgeCues make their whole clause a general question, not a report:
// 癫痫发作的诱因都有哪些, 心脏骤停一般需要多久才能恢复, 发烧后抽筋是否属于癫痫.
// (是什么原因 and 怎么治疗 are left out: 头疼是什么原因 reports a headache.)
var knowledgeCues = []string{
	"什么叫", "什么是", "有哪些症状", "有哪些表现", "有哪些原因", "都有哪些", "的诱因", "诱因是什么", "诱因有哪些", "的病因",
	"病因是什么", "一般需要多久", "一般多久",
	"是否属于", "属于什么病", "能治好吗", "能根治吗", "能治愈吗", "会遗传吗", "治疗方法是什么", "治疗方法有哪些", "如何预防",
	"怎么预防", "怎样预防", "有什么危害", "的危害", "科普", "医学知识",
}

// askEnds close an asked scope inside a clause: 可能是感冒引起的咳嗽.
var askEnds = []string{"引起的", "导致的", "造成的", "所致", "引起", "但", "但是", "可是"}

// familyCues make the clause about someone else when a relative is named
// in it (我妈得过乳腺癌); 家族史 and 遗传 do so by themselves.
var familyCues = []string{"得过", "患过", "死于", "去世", "病逝", "走的", "也有", "也得过", "遗传"}

var familyAlways = []string{"家族史", "家族", "遗传史", "家族遗传"}

// thirdParty: hearsay and third parties the writer tells of (有个同学癫痫
// 发作了, 同事说他爸爸…) are not the patient of the question; the rest of
// the sentence is about them.
var thirdParty = []string{
	"听说", "听人说", "听别人说", "别人说", "网上说", "有人说", "同事说", "朋友说", "同学说", "邻居说",
	"有个同学", "有个朋友", "有个同事", "有个邻居", "有个亲戚", "我一个朋友", "我一个同事", "我一个同学",
}

// relatives name a family member (a patient cue too: 我爸胸口疼 is about
// the father, who is then the patient).
var relatives = []string{
	"爸爸", "妈妈", "父亲", "母亲", "我爸", "我妈", "爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "哥哥", "姐姐", "弟弟", "妹妹",
	"舅舅", "姑姑", "叔叔", "阿姨", "伯伯", "婆婆", "公公", "岳父", "岳母", "老公", "老婆", "丈夫", "妻子",
	"家里人", "家人", "亲戚", "别人", "同事", "朋友", "邻居", "同学",
}

// onsetCues mark a sudden onset (突然胸痛); newCues a first time (第一次便血).
var onsetCues = []string{"突然", "忽然", "猛然", "突发", "骤然", "一下子", "陡然", "猛地", "突感", "突觉", "突然间", "冷不丁"}

var newCues = []string{"第一次", "首次", "头一次", "头一回", "第一回"}

// sideCues give the side of the body.
var sideCues = map[string]string{
	"左": "left", "左边": "left", "左侧": "left", "左半边": "left", "左手": "left", "左腿": "left", "左脚": "left",
	"右": "right", "右边": "right", "右侧": "right", "右半边": "right", "右手": "right", "右腿": "right", "右脚": "right",
	"双侧": "both", "两侧": "both", "两边": "both", "双": "both", "一侧": "one", "单侧": "one", "半边": "one", "一边": "one",
}

// sideFalse look like a side but are not (38度左右, 左右为难).
var sideFalse = []string{"左右", "左右为难", "右派"}

// characterCues describe what a pain or discomfort is like.
var characterCues = map[string]string{
	"压榨样": "压榨样", "压榨感": "压榨样", "压榨": "压榨样", "像压了块石头": "压榨样", "压了块石头": "压榨样", "像石头压着": "压榨样",
	"像有东西压着": "压榨样", "压着": "压迫样", "压迫感": "压迫样", "紧缩感": "紧缩样", "揪着": "紧缩样", "勒着": "紧缩样",
	"烧灼样": "烧灼样", "烧灼感": "烧灼样", "火辣辣": "烧灼样", "灼热": "烧灼样", "撕裂样": "撕裂样", "撕裂": "撕裂样", "撕开": "撕裂样",
	"刀割样": "刀割样", "刀割": "刀割样", "刀绞": "绞痛", "刀扎": "针刺样", "针扎": "针刺样", "针刺样": "针刺样", "针刺": "针刺样",
	"像针扎": "针刺样", "闷痛": "闷痛", "绞痛": "绞痛", "钝痛": "钝痛", "隐痛": "隐痛", "跳痛": "搏动样", "一跳一跳": "搏动样",
	"搏动性": "搏动样", "电击样": "电击样", "过电": "电击样", "触电一样": "电击样", "像触电": "电击样", "触电感": "电击样", "触电样": "电击样", "放电": "电击样", "酸胀": "酸胀", "胀痛": "胀痛", "坠胀": "坠胀",
	"劈开": "劈裂样", "炸裂": "炸裂样", "要炸了": "炸裂样", "炸开": "炸裂样", "像炸开": "炸裂样",
}

// radiateCues lead to where a pain spreads (疼到左肩, 放射到后背).
var radiateCues = []string{
	"放射到", "放射至", "放射", "牵扯到", "牵扯着", "牵涉到", "连着", "连带", "窜到", "串到", "传到", "扯到", "疼到", "痛到",
	"一直到", "带着", "波及", "延伸到", "向",
}

// extentCues say a finding is widespread (烫伤一大片).
var extentCues = []string{"一大片", "大片", "大面积", "一大块", "全身都", "满身", "整条", "整个", "好几处", "好多地方", "遍布", "满背", "前胸和肚子", "胸口和肚子"}

// reporterSelf and reporterFamily tell who wrote the text.
var reporterFamily = []string{
	"我家孩子", "我家宝宝", "我儿子", "我女儿", "我爸", "我妈", "我老公", "我老婆", "我爱人", "我奶奶", "我爷爷", "我外婆",
	"我外公", "我姥姥", "我姥爷", "我婆婆", "我公公", "家里老人", "孩子", "宝宝", "宝贝", "小孩", "我家", "患儿", "我父亲",
	"我母亲", "我丈夫", "我妻子", "我媳妇", "我弟", "我妹", "我哥", "我姐",
}

// procedureCues mark the disease just named as treated (痔疮术后4个月).
var procedureCues = []string{"术后", "手术后", "切除术后", "切除后", "做完手术", "手术完", "支架术后", "搭桥术后", "放支架"}

// postpartumCues: the patient has just given birth.
var postpartumCues = []string{"生完孩子", "生完小孩", "生完宝宝", "生完", "产后", "剖腹产后", "剖宫产后", "刚生", "生孩子后", "坐月子", "月子里", "顺产后"}

// healthWords mark text about health even when it names no symptom,
// disease, drug, check or body part the KG knows (宝宝发育正常吗, 怎么挂号):
// such text gets a department; text with none of them (你好, 谢谢, asdf)
// has no medical content.
var healthWords = []string{
	"病", "疼", "痛", "痒", "肿", "烧", "咳", "吐", "泻", "晕", "麻", "酸", "胀", "炎", "癌", "瘤", "症", "疹", "伤", "血", "尿", "便",
	"药", "针", "治", "诊", "查", "检", "术", "孕", "胎", "产", "经", "育", "奶", "喂", "疫苗", "体检", "挂什么科", "哪个科",
	"看什么科", "住院", "手术",
	"不舒服", "难受", "舒服", "身体", "健康", "营养", "减肥", "睡眠", "失眠", "焦虑", "抑郁", "情绪", "心理", "过敏", "感染",
	"指标", "报告", "结果", "偏高", "偏低", "异常", "阳性", "阴性", "正常", "保健", "调理", "康复", "复查", "住院", "挂号",
	"发育", "长高", "视力", "听力", "牙", "皮肤", "头发", "体重", "月经", "白带", "性生活", "避孕",
	// body, care and cosmetic words of real questions with no KG term
	// (椎间盘突出, 宝宝睡觉老哭, 艾灸的方法, 激光脱毛, 纹眉后忌口).
	"椎", "骨", "关节", "肌肉", "哭闹", "老哭", "睡觉", "艾灸", "针灸", "拔罐", "中药", "中医", "激光", "脱毛", "美容",
	"整形", "纹眉", "祛斑", "祛痘", "疤", "晒黑", "晒伤", "忌口", "饮食", "能吃", "不能吃", "多吃", "腋毛", "阴毛", "胸部",
	"缩胸", "丰胸", "处女膜", "修复", "服用", "甲状腺", "结节", "扁桃体", "睫毛", "肛", "气管", "胃", "肝", "肾", "钙",
	"维生素", "移植", "粑粑", "做爱", "同房", "四维", "降温", "说话晚", "语言迟缓",
}
