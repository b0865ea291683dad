#!/usr/bin/env bash
# Fetches the pinned ONNX Runtime shared library from the onnxruntime-node npm
# package, verifies the tarball's sha256 and extracts libonnxruntime.so.1 into
# third_party/onnxruntime/lib/. Safe to repeat: does nothing when the library
# is already there and matches.
set -euo pipefail

ORT_NPM_VERSION="1.24.3"
ORT_TGZ_SHA256="aa1bb5fa261ea68de05dd53efbba210cd7adf2d2850f4c3a201054c74cc78040"
LIB_IN_TGZ="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/third_party/onnxruntime"
lib="$dest/lib/libonnxruntime.so.1"
stamp="$dest/VERSION"

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
	echo "setup-ort: only linux/x86_64 is provisioned automatically; set FENZHEN_ORT_LIB to your libonnxruntime.so" >&2
	exit 1
fi

if [[ -f "$lib" && -f "$stamp" && "$(cat "$stamp")" == "$ORT_NPM_VERSION $ORT_TGZ_SHA256" ]]; then
	exit 0
fi

command -v npm >/dev/null || { echo "setup-ort: npm is required (apt-get install npm)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "setup-ort: fetching onnxruntime-node@$ORT_NPM_VERSION"
(cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_NPM_VERSION" >/dev/null)
tgz="$tmp/onnxruntime-node-$ORT_NPM_VERSION.tgz"
got="$(sha256sum "$tgz" | cut -d' ' -f1)"
if [[ "$got" != "$ORT_TGZ_SHA256" ]]; then
	echo "setup-ort: checksum mismatch for onnxruntime-node@$ORT_NPM_VERSION: got $got, want $ORT_TGZ_SHA256" >&2
	exit 1
fi
tar -xzf "$tgz" -C "$tmp" "$LIB_IN_TGZ"
mkdir -p "$dest/lib"
install -m 0644 "$tmp/$LIB_IN_TGZ" "$lib"
echo "$ORT_NPM_VERSION $ORT_TGZ_SHA256" > "$stamp"
echo "setup-ort: installed $lib"
