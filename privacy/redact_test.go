package privacy

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// testdata/redact.json lists what must be replaced and, as importantly,
// clinical text that must come through unchanged.
func TestRedact(t *testing.T) {
	raw, err := os.ReadFile("testdata/redact.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ Name, In, Want string }
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases loaded", len(cases))
	}
	for _, c := range cases {
		if got := Redact(c.In); got != c.Want {
			t.Errorf("%s:\n  in   %s\n  got  %s\n  want %s", c.Name, c.In, got, c.Want)
		}
	}
}

// Redacting twice changes nothing: placeholders are not themselves redacted.
func TestRedactIdempotent(t *testing.T) {
	in := "我叫张三，电话13812345678，身份证110101199003071234，邮箱a@b.cn"
	once := Redact(in)
	if twice := Redact(once); twice != once {
		t.Fatalf("%q then %q", once, twice)
	}
	for _, secret := range []string{"张三", "13812345678", "110101199003071234", "a@b.cn"} {
		if strings.Contains(once, secret) {
			t.Errorf("%q survived: %s", secret, once)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	in := "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子。我叫张三，电话13812345678。"
	for b.Loop() {
		Redact(in)
	}
}

// FuzzRedact: any text comes back valid UTF-8, and a second pass finds nothing
// new (placeholders never join the text around them into an identifier).
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"我叫张三，电话13812345678，身份证110101199003071234", "患者王小明，男，45岁", "010-1234-5678", "最高39.5度", "a@b.cn"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := Redact(s)
		if utf8.ValidString(s) && !utf8.ValidString(once) {
			t.Fatalf("invalid UTF-8 from %q: %q", s, once)
		}
		if twice := Redact(once); twice != once {
			t.Fatalf("%q → %q → %q", s, once, twice)
		}
	})
}
