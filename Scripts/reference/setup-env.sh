#!/usr/bin/env bash
# Creates (or refreshes) the Python "reference" virtualenv holding the peer
# libraries used to generate numeric test fixtures and to run benchmarks:
# numpy, scipy, soundfile, librosa, kaldi-native-fbank, torch (CPU),
# torchaudio, transformers, safetensors, onnx, onnxruntime.
#
# Usage:
#   Scripts/reference/setup-env.sh            # create/refresh, then smoke check
#   Scripts/reference/setup-env.sh --force    # delete the venv and rebuild it
#   Scripts/reference/setup-env.sh --smoke    # only run the smoke check
#
# Environment:
#   VENV             venv location (default: <repo root>/.venv-reference)
#   PYTHON           interpreter used to create the venv (default: python3, must
#                    match the CPU torch wheel's tag, i.e. CPython 3.11)
#   TORCH_WHEEL_DIR  where the CPU torch wheel lives (default: /opt/wheels)
#   SKIP_SMOKE=1     skip the final smoke check
#
# Idempotent: a stamp file in the venv records a hash of this script, of
# requirements.txt, of the interpreter and of the torch wheel; when it matches,
# installation is skipped and only the smoke check runs.
#
# Why the special cases:
#   * PyPI's torch is a multi-GB CUDA build, so torch is installed from the CPU
#     wheel file in $TORCH_WHEEL_DIR, and every later pip call is constrained to
#     that exact torch so nothing can swap it for a CUDA build.
#   * PyPI's torchaudio wheels are CUDA builds pinned to one torch release, and
#     there is no torchaudio release for every torch release. It is installed
#     with --no-deps, and its compiled extensions (lib/*.so, linked against
#     libcudart / libtorch_cuda) are renamed to *.so.disabled. torchaudio then
#     runs in pure-Python mode: transforms.MelSpectrogram,
#     transforms.AmplitudeToDB, compliance.kaldi.fbank and most of
#     functional.* work; the ops backed by the extension are unavailable
#     (functional.forced_align, rnnt_loss, the CUDA CTC decoder) or fall back
#     to a slower Python loop (lfilter's and overdrive's core loops).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT_PATH="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
VENV="${VENV:-$REPO_ROOT/.venv-reference}"
PYTHON="${PYTHON:-python3}"
TORCH_WHEEL_DIR="${TORCH_WHEEL_DIR:-/opt/wheels}"
REQS="$SCRIPT_DIR/requirements.txt"
STAMP="$VENV/.setup-env.stamp"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# The smoke check must never reach for a model hub.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1

START_TS=$(date +%s)
log() { printf '[setup-env %3ss] %s\n' "$(( $(date +%s) - START_TS ))" "$*" >&2; }
die() { printf '[setup-env] ERROR: %s\n' "$*" >&2; exit 1; }

MODE=install
for arg in "$@"; do
  case "$arg" in
    --force) MODE=force ;;
    --smoke) MODE=smoke ;;
    -h|--help) sed -n '2,35p' "$SCRIPT_PATH"; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done

[[ -f "$REQS" ]] || die "missing $REQS"

# Version pinned in requirements.txt for a package ("" if not pinned).
pinned_version() {
  sed -n -E "s/^[[:space:]]*$1[[:space:]]*==[[:space:]]*([^[:space:];#]+).*/\1/Ip" "$REQS" | head -n1
}

# ---------------------------------------------------------------- smoke check
run_smoke() {
  log "smoke check in $VENV"
  "$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import os
import platform
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

import numpy as np
import scipy
import scipy.signal
import soundfile as sf
import librosa
import kaldi_native_fbank as knf
import torch
import torchaudio
import torchaudio.compliance.kaldi
import transformers
import safetensors
import onnx
import onnxruntime
from safetensors.torch import load_file, save_file
from safetensors.numpy import load_file as np_load_file, save_file as np_save_file

def check(cond, msg):
    if not cond:
        raise SystemExit(f"SMOKE FAIL: {msg}")

print(f"python             {platform.python_version()} ({sys.executable})")
for dist in ["numpy", "scipy", "soundfile", "librosa", "kaldi-native-fbank",
             "torch", "torchaudio", "transformers", "safetensors", "onnx", "onnxruntime",
             "numba", "llvmlite", "soxr", "tokenizers", "huggingface-hub"]:
    try:
        print(f"{dist:<18} {md.version(dist)}")
    except md.PackageNotFoundError:
        print(f"{dist:<18} (not installed)")
print(f"libsndfile         {sf.__libsndfile_version__}")
print(f"torch.version.cuda {torch.version.cuda}  threads={torch.get_num_threads()}")

# torch must be the CPU build, torchaudio must run without its C++ extension.
check("+cpu" in torch.__version__ and torch.version.cuda is None,
      f"torch is not the CPU build: {torch.__version__} cuda={torch.version.cuda}")
from torchaudio._extension import _IS_TORCHAUDIO_EXT_AVAILABLE
check(not _IS_TORCHAUDIO_EXT_AVAILABLE, "torchaudio C++ extension unexpectedly loaded")

sr = 16000
rng = np.random.default_rng(1234)
t = np.arange(sr, dtype=np.float64) / sr
wave = (0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * 1234.5 * t)
        + 0.01 * rng.standard_normal(sr)).astype(np.float32)

with tempfile.TemporaryDirectory() as tmp:
    # soundfile round trip (float32 WAV is lossless).
    wav_path = os.path.join(tmp, "tone.wav")
    sf.write(wav_path, wave, sr, subtype="FLOAT")
    back, sr_back = sf.read(wav_path, dtype="float32")
    check(sr_back == sr and np.array_equal(back, wave), "soundfile round trip")

    # torchaudio MelSpectrogram + AmplitudeToDB vs librosa.
    n_fft, hop, n_mels = 400, 160, 80
    x = torch.from_numpy(wave)
    mel_t = torchaudio.transforms.MelSpectrogram(
        sample_rate=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
        power=2.0, center=True, pad_mode="reflect", norm=None, mel_scale="htk")(x)
    db_t = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80.0)(mel_t)
    mel_l = librosa.feature.melspectrogram(
        y=wave, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, power=2.0,
        center=True, pad_mode="reflect", htk=True, norm=None, window="hann")
    db_l = librosa.power_to_db(mel_l, ref=1.0, amin=1e-10, top_db=None)
    check(tuple(mel_t.shape) == mel_l.shape == (n_mels, 101),
          f"mel shapes {tuple(mel_t.shape)} vs {mel_l.shape}")
    check(torch.isfinite(db_t).all().item(), "AmplitudeToDB not finite")
    db_t_raw = 10.0 * torch.log10(torch.clamp(mel_t, min=1e-10)).numpy()
    d = float(np.max(np.abs(db_t_raw - db_l)[db_l > db_l.max() - 60.0]))
    print(f"mel torchaudio vs librosa: shape={tuple(mel_t.shape)} "
          f"max|dB diff| (top 60 dB)={d:.2e}  AmplitudeToDB range="
          f"[{db_t.min().item():.1f}, {db_t.max().item():.1f}]")
    check(d < 1e-2, f"torchaudio/librosa mel mismatch {d}")

    # Kaldi fbank: torchaudio.compliance.kaldi vs kaldi-native-fbank.
    pcm = wave * 32768.0
    fb_t = torchaudio.compliance.kaldi.fbank(
        torch.from_numpy(pcm)[None], sample_frequency=sr, num_mel_bins=n_mels,
        dither=0.0, frame_length=25.0, frame_shift=10.0, window_type="povey",
        snip_edges=True).numpy()
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = sr
    opts.frame_opts.dither = 0.0
    opts.frame_opts.snip_edges = True
    opts.frame_opts.window_type = "povey"
    opts.mel_opts.num_bins = n_mels
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(sr, pcm.tolist())
    fb.input_finished()
    fb_k = np.array([fb.get_frame(i) for i in range(fb.num_frames_ready)])
    check(fb_t.shape == fb_k.shape == (98, n_mels), f"fbank shapes {fb_t.shape} vs {fb_k.shape}")
    d = float(np.max(np.abs(fb_t - fb_k)))
    print(f"kaldi fbank torchaudio vs kaldi-native-fbank: shape={fb_t.shape} max|diff|={d:.2e}")
    check(d < 1e-2, f"kaldi fbank mismatch {d}")

    # Tiny random-weight Wav2Vec2 classifier, eager attention, attentions out.
    torch.manual_seed(0)
    cfg = transformers.Wav2Vec2Config(
        vocab_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, conv_dim=(16, 16, 16), conv_stride=(5, 4, 4),
        conv_kernel=(10, 4, 4), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, classifier_proj_size=8, num_labels=3,
        mask_time_prob=0.0, layerdrop=0.0, attn_implementation="eager")
    model = transformers.Wav2Vec2ForSequenceClassification(cfg).eval()
    check(model.config._attn_implementation == "eager",
          f"attn impl is {model.config._attn_implementation}")
    inp = torch.from_numpy(wave)[None, :8000]
    with torch.no_grad():
        out = model(input_values=inp, output_attentions=True, output_hidden_states=True)
    T = out.attentions[0].shape[-1]
    check(tuple(out.logits.shape) == (1, 3), f"logits {tuple(out.logits.shape)}")
    check(len(out.attentions) == 2 and tuple(out.attentions[0].shape) == (1, 4, T, T),
          f"attentions {[tuple(a.shape) for a in out.attentions]}")
    check(torch.allclose(out.attentions[0].sum(-1), torch.ones(1, 4, T), atol=1e-5),
          "attention rows do not sum to 1")
    nparams = sum(p.numel() for p in model.parameters())
    print(f"wav2vec2 tiny: params={nparams} frames={T} logits={np.array2string(out.logits.numpy(), precision=4)}")

    # safetensors: save the state dict, load it into a fresh model, same output.
    st_path = os.path.join(tmp, "tiny.safetensors")
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, st_path, metadata={"format": "pt"})
    loaded = load_file(st_path)
    check(loaded.keys() == sd.keys() and all(torch.equal(loaded[k], sd[k]) for k in sd),
          "safetensors torch round trip")
    torch.manual_seed(1)
    model2 = transformers.Wav2Vec2ForSequenceClassification(cfg).eval()
    model2.load_state_dict(loaded, strict=True)
    with torch.no_grad():
        out2 = model2(input_values=inp)
    check(torch.equal(out.logits, out2.logits), "reloaded model output differs")
    np_path = os.path.join(tmp, "arrays.safetensors")
    np_save_file({"wave": wave, "mel": mel_l.astype(np.float32)}, np_path)
    arrs = np_load_file(np_path)
    check(np.array_equal(arrs["wave"], wave), "safetensors numpy round trip")
    print(f"safetensors: {len(loaded)} tensors, {os.path.getsize(st_path)} bytes, round trip OK")

print("SMOKE OK")
PY
}

if [[ "$MODE" == smoke ]]; then
  [[ -x "$VENV/bin/python" ]] || die "no venv at $VENV; run without --smoke first"
  run_smoke
  exit 0
fi

# ------------------------------------------------------ interpreter and wheel
command -v "$PYTHON" >/dev/null 2>&1 || die "interpreter '$PYTHON' not found (set PYTHON=...)"
PY_TAG="$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
PY_FULL="$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"

shopt -s nullglob
all_wheels=("$TORCH_WHEEL_DIR"/torch-*+cpu*.whl)
wheels=("$TORCH_WHEEL_DIR"/torch-*+cpu*-"$PY_TAG"-*.whl)
shopt -u nullglob
if (( ${#all_wheels[@]} == 0 )); then
  die "no CPU torch wheel found: $TORCH_WHEEL_DIR/torch-*+cpu*.whl does not exist.
  PyPI's torch is a multi-GB CUDA build, so this script installs torch only from a
  local CPU wheel. Put e.g. torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl in
  $TORCH_WHEEL_DIR (or set TORCH_WHEEL_DIR to the folder holding one)."
fi
if (( ${#wheels[@]} == 0 )); then
  die "the CPU torch wheel(s) in $TORCH_WHEEL_DIR (${all_wheels[*]##*/}) do not match
  the interpreter '$PYTHON' (Python $PY_FULL, tag $PY_TAG). Set PYTHON to a matching
  interpreter (e.g. PYTHON=python3.11)."
fi
TORCH_PIN="$(pinned_version torch)"
TORCH_WHEEL=""
if [[ -n "$TORCH_PIN" ]]; then
  for w in "${wheels[@]}"; do
    [[ "${w##*/}" == "torch-${TORCH_PIN}-"* ]] && TORCH_WHEEL="$w"
  done
fi
if [[ -z "$TORCH_WHEEL" ]]; then
  TORCH_WHEEL="$(printf '%s\n' "${wheels[@]}" | sort -V | tail -n1)"
  [[ -z "$TORCH_PIN" ]] || log "WARNING: requirements.txt pins torch==$TORCH_PIN but only ${TORCH_WHEEL##*/} is available; using it"
fi
TORCH_VERSION="$(basename "$TORCH_WHEEL" | cut -d- -f2)"   # e.g. 2.13.0+cpu

# ---------------------------------------------------------------- stamp check
STAMP_HASH="$( {
  cat "$SCRIPT_PATH" "$REQS"
  echo "$PY_FULL $(command -v "$PYTHON") $PY_TAG"
  echo "$TORCH_WHEEL $(stat -c %s "$TORCH_WHEEL")"
} | sha256sum | cut -d' ' -f1)"

if [[ "$MODE" == force && -e "$VENV" ]]; then
  log "--force: removing $VENV"
  rm -rf "$VENV"
fi

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_HASH" ]]; then
  log "venv $VENV is up to date (stamp matches); skipping installation"
else
  # ------------------------------------------------------------ installation
  if [[ -e "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "existing $VENV is broken; recreating it"
    rm -rf "$VENV"
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV with $PYTHON (Python $PY_FULL)"
    "$PYTHON" -m venv "$VENV"
  fi
  rm -f "$STAMP"
  VPY="$VENV/bin/python"
  VPY_TAG="$("$VPY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  [[ "$VPY_TAG" == "$PY_TAG" ]] || die "existing venv is $VPY_TAG, wheel needs $PY_TAG; rerun with --force"

  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  # Every pip call below is constrained to this exact torch: nothing may
  # replace the CPU wheel with PyPI's CUDA torch.
  echo "torch==$TORCH_VERSION" > "$WORK/constraints.txt"
  # Everything pinned in requirements.txt except torch/torchaudio (special).
  grep -v -i -E '^[[:space:]]*(torch|torchaudio)[[:space:]]*([=<>!~;#]|$)' "$REQS" > "$WORK/reqs.txt" || true

  log "installing torch from ${TORCH_WHEEL##*/} and the pinned peers from requirements.txt"
  "$VPY" -m pip install --quiet --prefer-binary \
    -c "$WORK/constraints.txt" "$TORCH_WHEEL" -r "$WORK/reqs.txt"

  # torchaudio: the pinned version, else the release matching torch's
  # major.minor, else the newest on PyPI. Always --no-deps (CUDA builds pinned
  # to a specific torch).
  TA_PIN="$(pinned_version torchaudio)"
  TA_SPEC=""
  if [[ -n "$TA_PIN" ]]; then
    TA_SPEC="torchaudio==$TA_PIN"
  else
    TORCH_MM="$(echo "${TORCH_VERSION%%+*}" | cut -d. -f1,2)"
    if "$VPY" -m pip download --quiet --no-deps --only-binary=:all: -d "$WORK/ta" \
         "torchaudio==${TORCH_MM}.*" >/dev/null 2>&1; then
      TA_SPEC="torchaudio==${TORCH_MM}.*"
    else
      log "WARNING: PyPI has no torchaudio ${TORCH_MM}.x to pair with torch $TORCH_VERSION; using the newest torchaudio"
      TA_SPEC="torchaudio"
    fi
  fi
  log "installing $TA_SPEC with --no-deps"
  "$VPY" -m pip install --quiet --no-deps --only-binary=:all: "$TA_SPEC"

  # Move torchaudio's compiled extensions aside: PyPI's builds link libcudart
  # and libtorch_cuda, which the CPU torch does not ship, and are built for a
  # specific torch ABI. With lib/*.so absent, torchaudio's _load_lib() returns
  # False and the package runs in pure-Python mode. Any other compiled module
  # in the package is moved aside only if it fails to load.
  TA_DIR="$("$VPY" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("torchaudio").origin))')"
  TORCH_LIB="$("$VPY" -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("torch").origin), "lib"))')"
  while IFS= read -r -d '' so; do
    rel="${so#"$TA_DIR"/}"
    # Libraries neither on the system nor shipped in torch/lib (e.g. libcudart).
    missing=""
    for lib in $(ldd "$so" 2>/dev/null | awk '/not found/ {print $1}' || true); do
      [[ -e "$TORCH_LIB/$lib" ]] || missing+="$lib "
    done
    if [[ "$rel" == lib/* ]]; then
      log "disabling torchaudio/$rel (unresolved: ${missing:-none}; CUDA build)"
      mv -f "$so" "$so.disabled"
    elif ! "$VPY" -c 'import ctypes, sys, torch; ctypes.CDLL(sys.argv[1])' "$so" >/dev/null 2>&1; then
      log "disabling torchaudio/$rel (fails to load; unresolved: ${missing:-?})"
      mv -f "$so" "$so.disabled"
    fi
  done < <(find "$TA_DIR" -name '*.so' -print0)

  # Verify that pip kept the CPU torch and pulled no CUDA packages.
  "$VPY" - "$TORCH_VERSION" <<'PY'
import importlib.metadata as md, sys
import torch
want = sys.argv[1]
if torch.__version__ != want or torch.version.cuda is not None:
    sys.exit(f"torch was replaced: have {torch.__version__} (cuda={torch.version.cuda}), want {want}")
cuda = sorted(d.metadata["Name"] for d in md.distributions()
              if d.metadata["Name"].lower().startswith(("nvidia-", "triton", "cuda-")))
if cuda:
    sys.exit(f"CUDA packages were installed: {cuda}")
PY
  "$VPY" -m pip check >&2 || die "pip check reports broken requirements"

  echo "$STAMP_HASH" > "$STAMP"
  log "installation complete"
fi

if [[ "${SKIP_SMOKE:-0}" == 1 ]]; then
  log "SKIP_SMOKE=1: skipping the smoke check"
else
  run_smoke
fi
log "done: activate with 'source ${VENV}/bin/activate' or run ${VENV}/bin/python"
