#!/usr/bin/env bash
# Debian packages the training scripts, fixture generators and benchmarks use.
# Needed only to retrain models or regenerate fixtures: the server and
# `make test` run from the committed models and fixtures without them.
# python3-jieba, python3-fastapi and uvicorn serve the benchmark peers in
# bench/fastapi (`fenzhen bench --workload imaging|triage`).
set -euo pipefail
pkgs=(python3 python3-numpy python3-torch python3-onnx python3-yaml python3-pil python3-pydicom dcmtk python3-jieba python3-fastapi uvicorn)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup-debian: installing ${missing[*]}"
	sudo_cmd=""
	[[ $EUID -ne 0 ]] && sudo_cmd="sudo"
	$sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
/usr/bin/python3 -c 'import numpy, torch, onnx' && echo "setup-debian: ok"
