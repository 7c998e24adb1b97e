#!/usr/bin/env bash
# Starts a real ComfyUI with this pack loaded; its example workflows appear in ComfyUI's template browser.
#
#   ./scripts/run_comfyui.sh [ComfyUI arguments, e.g. --port 8188, --cpu]
#
# COMFYUI_PATH    an existing ComfyUI to use. Without it, ComfyUI is cloned into .comfyui/ComfyUI
#                 (COMFYUI_REPO, COMFYUI_REF to choose) and its requirements are installed into .comfyui/venv.
# COMFYUI_PYTHON  the interpreter to run it with (default: COMFYUI_PATH/.venv, COMFYUI_PATH/venv, or .comfyui/venv).
# The ComfyUI tree is not modified: the pack is linked into .comfyui/custom_nodes, passed with
# --extra-model-paths-config.
set -euo pipefail
pack=$(cd "$(dirname "$0")/.." && pwd)
work=$pack/.comfyui
mkdir -p "$work"

if [[ -z ${COMFYUI_PATH:-} ]]; then
  COMFYUI_PATH=$work/ComfyUI
  if [[ ! -f $COMFYUI_PATH/main.py ]]; then
    git clone --depth 1 ${COMFYUI_REF:+--branch "$COMFYUI_REF"} "${COMFYUI_REPO:-https://github.com/comfyanonymous/ComfyUI}" "$COMFYUI_PATH"
  fi
fi

py=${COMFYUI_PYTHON:-}
for candidate in "$COMFYUI_PATH/.venv/bin/python" "$COMFYUI_PATH/venv/bin/python"; do
  if [[ -z $py && -x $candidate ]]; then py=$candidate; fi
done
if [[ -z $py ]]; then
  py=$work/venv/bin/python
  if [[ ! -x $py ]]; then
    python3 -m venv "$work/venv"
    "$py" -m pip install -q --upgrade pip
    "$py" -m pip install -q -r "$COMFYUI_PATH/requirements.txt"
  fi
fi
"$py" -m pip install -q -r "$pack/requirements.txt"

mkdir -p "$work/custom_nodes"
ln -sfn "$pack" "$work/custom_nodes/pladis"
cat >"$work/extra_model_paths.yaml" <<YAML
pladis_dev:
    custom_nodes: $work/custom_nodes
YAML

cd "$COMFYUI_PATH"
exec "$py" main.py --extra-model-paths-config "$work/extra_model_paths.yaml" "$@"
