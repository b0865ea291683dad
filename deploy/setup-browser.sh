#!/usr/bin/env bash
# Debian's Chromium, for the web console's browser test only
# (cmd/fenzhen/web_console_test.go drives it headless with chromedp).
# The server, `make run` and the other tests do not need it; without it the
# browser test skips. Safe to repeat.
# fonts-noto-cjk: without a CJK font Chromium draws every Chinese character of
# the console as a box, and the browser test fails saying so.
set -euo pipefail
MIN_MAJOR=${FENZHEN_CHROMIUM_MIN_MAJOR:-120}
pkgs=(chromium fonts-noto-cjk)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup-browser: installing ${missing[*]}"
	sudo_cmd=""
	[[ $EUID -ne 0 ]] && sudo_cmd="sudo"
	$sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
version=$(/usr/bin/chromium --version 2>/dev/null || true)
major=$(grep -oE '[0-9]+' <<<"$version" | head -n1 || true)
if [[ -z $major ]]; then
	echo "setup-browser: /usr/bin/chromium does not run" >&2
	exit 1
fi
if ((major < MIN_MAJOR)); then
	echo "setup-browser: $version is older than the required major version $MIN_MAJOR" >&2
	exit 1
fi
if command -v fc-list >/dev/null && ! fc-list :lang=zh family | grep -q .; then
	echo "setup-browser: no Chinese font found by fontconfig (fonts-noto-cjk)" >&2
	exit 1
fi
echo "setup-browser: ok, $version with $(fc-match 'sans-serif:lang=zh-cn' family) (only the web console's browser test uses it)"
