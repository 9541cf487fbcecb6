#!/usr/bin/env bash
# Whole-model device benchmark (issue 11): MLPerf Tiny models as users deploy them, on the four QEMU cores,
# next to TensorFlow Lite Micro + CMSIS-NN.
#
#   ./scripts/bench-models.sh [--quick] [--cores "m3 m4 m7 m55"] [--samples N] [--cmcount DIR] [MODEL ...]
#
# MODEL: a packed model (.mqm), a float ONNX (.onnx: calibrated with `calibrate`'s DEFAULT options; the
# calibration data is MODEL_calib.npy next to it, or bench/data/<key>_calib.npy for the MLPerf Tiny
# models; test inputs MODEL_test.npy / bench/data/<key>_test.npy, else the first calibration samples)
# or an int8 TFLite (.tflite: imported with `calibrate MODEL.tflite`). Default: every model of
# ../shared/models/mlperf-tiny/ (MQ_MODELS_DIR overrides). A model that cannot be packed yet is listed
# with calibrate's own message, never skipped silently.
# bench/models/ holds same-architecture stand-ins (random weights) of the two MLPerf Tiny models not in
# ../shared: ic_resnet8_style_* (ResNet-8) and vww_mobilenetv1_style_* (MobileNetV1 0.25), data in
# bench/data/ic_* and vww_* (scripts/make_mlperf_style_models.py); not in the default list, pass them.
#
# For each packed model and core (m3 = mps2-an385, m4 = mps2-an386, m7 = mps2-an500, m55 = mps3-an547):
#   - builds the board firmware (boards/, -O2) with the model and N test samples and runs it under
#     qemu-system-arm -icount shift=0 (`simulate --qemu`): instructions per inference = SysTick ticks of
#     mq_model_run x 1e9 / clock (+-1 tick: 40 instructions on mps2, 31.25 on mps3), mean over the samples;
#   - checks the device's outputs byte-identical to the host simulation (simulate's own check, and cmp of
#     the two raw .npy files written here);
#   - the cost model's estimate (boards/cost-model.json, `simulate --board`) next to the measurement;
#   - arena (and its lower bound; for calibrated / imported models also the out-of-place bounds from
#     calibrate: the plain lower bound and the largest input+output pair), packed model bytes, firmware text (.text + .rodata from the linker map)
#     split into runtime (csrc/src/runtime: loader + interpreter), kernels (every other csrc/src
#     object), and app/startup/libc (model and input blobs excluded).
# Then a table with the ratios to TFLite Micro + CMSIS-NN's figures from issue 11, and the latency
# estimate on NUCLEO-L4R5ZI (120 MHz) next to the best published MLPerf Tiny latency, per model placement
# (`simulate --placement`): in place in flash (the primary row: the board's factory flash mode), in flash in
# single-bank mode (option bit DBANK = 0) and the model copied to SRAM (with the RAM that costs).
#
# Exact counter (optional, never required): with --cmcount DIR (or MQ_CMCOUNT=DIR; DIR is a copy of the
# cmcount tool, e.g. ../shared/tools/cmcount) the first model's M4 firmware is re-run under the cmcount
# TCG plugin: exact instructions of each `mq_model_run` call (cross-check of the SysTick figure) and of
# each `mq_run_op` call (one per layer) with a per-function breakdown. The tool is copied into the build
# directory and its plugin built there (the shared copy may be read-only).
#
# --quick: one model (the calibrated AD autoencoder; examples/autoencoder.onnx, the same architecture,
# when ../shared is absent), one core (m4), 2 samples; part of scripts/test.sh. Fails on any error.
# Environment: SIMULATE / CALIBRATE = prebuilt binaries (default: swift build); MQ_BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${MQ_BUILD_DIR:-$ROOT/build/bench-models}
MODELS_DIR=${MQ_MODELS_DIR:-$ROOT/../shared/models/mlperf-tiny}
[ -d "$MODELS_DIR" ] || MODELS_DIR=$ROOT/../../shared/models/mlperf-tiny
CMCOUNT=${MQ_CMCOUNT:-}
quick=0
cores="m3 m4 m7 m55"
samples=4
models=()
usage() { sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --cores) cores=$2; shift ;;
    --samples) samples=$2; shift ;;
    --cmcount) CMCOUNT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "bench-models: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) models+=("$1") ;;
  esac
  shift
done
case "$samples" in ''|*[!0-9]*|0) echo "bench-models: --samples must be a positive integer" >&2; exit 2 ;; esac
for c in $cores; do
  case "$c" in m3|m4|m7|m55) ;; *) echo "bench-models: unknown core '$c' (m3 m4 m7 m55)" >&2; exit 2 ;; esac
done
if [ $quick = 1 ]; then
  cores=m4; samples=2
  if [ ${#models[@]} -eq 0 ]; then
    if [ -f "$MODELS_DIR/ad01_float.onnx" ]; then models=("$MODELS_DIR/ad01_float.onnx")
    else
      echo "bench-models: --quick: $MODELS_DIR/ad01_float.onnx not found; using examples/autoencoder.onnx (same architecture)"
      models=("$ROOT/examples/autoencoder.onnx")
    fi
  fi
fi
if [ ${#models[@]} -eq 0 ]; then
  [ -d "$MODELS_DIR" ] || { echo "bench-models: no MODEL given and $MODELS_DIR not found (set MQ_MODELS_DIR)" >&2; exit 2; }
  models=("$MODELS_DIR"/*.onnx "$MODELS_DIR"/*.tflite)
fi
for tool in cmake arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
  command -v "$tool" >/dev/null || { echo "bench-models: $tool not found in PATH" >&2; exit 2; }
done
if [ -z "${SIMULATE:-}" ] || [ -z "${CALIBRATE:-}" ]; then
  swift build --product simulate >/dev/null
  swift build --product calibrate >/dev/null
  SIMULATE=$(swift build --show-bin-path)/simulate
  CALIBRATE=$(swift build --show-bin-path)/calibrate
fi
mkdir -p "$OUT"
fail=0

board_of() { case $1 in m3) echo mps2-an385 ;; m4) echo mps2-an386 ;; m7) echo mps2-an500 ;; m55) echo mps3-an547 ;; esac; }

# TFLite Micro + CMSIS-NN (issue 11; TFLite Micro main, gcc -O2, exact instructions per Invoke() under QEMU):
# key  MACs  M3  M4  M7  M55  arena(M4)  activation lower bound
ref() {
  case $1 in
    kws) echo "2660000 10531727 7697546 7643325 1813273 22820 16000" ;;
    ad)  echo "264192 956056 583060 583371 150126 2580 768" ;;
    # the image classifier (ResNet-8, 12.5 M MACs) and the 96x96 person detector (MobileNetV1 0.25, 7.5 M MACs) of
    # MLPerf Tiny: issue 11's figures are for the trained files; here they are compared with the same-architecture
    # stand-ins of bench/models (scripts/make_mlperf_style_models.py, random weights: same layers and shapes)
    ic)  echo "12501632 41849451 29862210 30017858 4913836 54996 49152" ;;
    vww) echo "7489664 31959485 24102313 24025968 6558616 100708 55296" ;;
    *)   echo "" ;;
  esac
}
# TFLite Micro's flash for the same model (issue 11 goal: our packed model + runtime + the kernels the model uses
# <= TFLite Micro's firmware): key -> "code bytes what". The .tflite file's own bytes are added from
# $MODELS_DIR. Issue 11 gives, for KWS on M4 at -O2, framework ~16.5 KB + kernels 16.4 KB + CMSIS-NN 25.4 KB
# (int8 only; 50.9 KB all of it); for AD it gives no figure, so the AD bound is the framework alone (its
# FULLY_CONNECTED kernel, not measured here, comes on top): a LOWER BOUND of TFLite Micro's AD firmware.
tflm_flash() {
  case $1 in
    kws) echo "58300 kws_ref_model_int8.tflite framework 16,500 + kernels 16,400 + CMSIS-NN int8 25,400 (issue 11)" ;;
    ad)  echo "16500 ad01_int8.tflite framework 16,500 (issue 11) + FULLY_CONNECTED kernel (not measured: 0), a lower bound" ;;
    *)   echo "" ;;
  esac
}
# best published MLPerf Tiny latency on NUCLEO-L4R5ZI (Cortex-M4, 120 MHz): key -> "ms who"
published() { case $1 in kws) echo "43.4 ST X-CUBE-AI 10.2" ;; ad) echo "4.05 Plumerai" ;; *) echo "" ;; esac; }
key_of() {
  local b; b=$(basename "$1")
  case "$b" in ad01*) echo ad ;; kws*) echo kws ;; ic_*) echo ic ;; vww_*) echo vww ;; *) echo "" ;; esac
}

# shorten TEXT: long messages (node names can be hundreds of characters) as head ... tail
shorten() { awk -v s="$1" 'BEGIN { if (length(s) <= 240) print s; else print substr(s, 1, 90) " ... " substr(s, length(s) - 140) }'; }

# data_file MODEL calib|test: MODEL_<what>.npy next to the model, else bench/data/<key>_<what>.npy
data_file() {
  local d s k f
  d=$(dirname "$1"); s=$(basename "$1"); s=${s%.*}
  case $(key_of "$1") in ad) k=ad01 ;; kws) k=kws ;; ic) k=ic ;; vww) k=vww ;; *) k="" ;; esac
  for f in "$d/${s}_$2.npy" ${k:+"$ROOT/bench/data/${k}_$2.npy"}; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  echo ""
}

# Source folder of every csrc/src object (the map names archive members by file name only).
declare -A family
while read -r f; do
  o=$(basename "$f"); family[${o%.c}]=$(basename "$(dirname "$f")")
done < <(find csrc/src -name '*.c')

# text_split MAP "FAMILIES USED" -> "runtime kernels other kernels_used": bytes of every flash input section (code, read-only data, fill)
# of the linker map, by object; the embedded model and input blobs are left out
text_split() {
  awk -v used=" $2 " -v fam="$(for k in "${!family[@]}"; do printf '%s=%s ' "$k" "${family[$k]}"; done)" '
    BEGIN { n = split(fam, a, " "); for (i = 1; i <= n; i++) { split(a[i], kv, "="); F[kv[1]] = kv[2] } }
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    function hex(h,   i, c, v) {
      v = 0; h = tolower(substr(h, 3))
      for (i = 1; i <= length(h); i++) { c = index("0123456789abcdef", substr(h, i, 1)) - 1; v = v * 16 + c }
      return v
    }
    function add(size, obj,   m, base) {
      if (obj ~ /mq_fw_(model|input)/) return          # the embedded blobs
      if (match(obj, /\(([^)]*)\.c\.obj\)$/)) {
        base = substr(obj, RSTART + 1, RLENGTH - 8)
        if (base in F) {
          if (F[base] == "runtime") rt += size
          else { kn += size; if (index(used, " " F[base] " ")) ku += size }
          return
        }
      }
      other += size
    }
    # output sections at column 0; flash = .text (code + .rodata here), .ARM.exidx, .rodata, .data (load image)
    /^\.[A-Za-z_]/ { out = $1; fl = (out == ".text" || out == ".ARM.exidx" || out == ".rodata" || out == ".data"); pend = 0; next }
    !fl { next }
    # input section: " .text.name 0xaddr 0xsize obj" or " .text.name" then "  0xaddr 0xsize obj"; " *fill* 0xaddr 0xsize"
    /^ \*fill\*/ && $3 ~ /^0x/ { other += hex($3); next }
    /^ \.[A-Za-z_]/ {
      if (NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/) { add(hex($3), $4) } else if (NF == 1) { pend = 1 }
      next
    }
    pend && $1 ~ /^0x/ && $2 ~ /^0x/ && NF >= 3 { add(hex($2), $3); pend = 0; next }
    { pend = 0 }
    END { printf "%d %d %d %d\n", rt, kn, other, ku }' "$1"
}

results=$OUT/results.txt
: >"$results"
# the latency estimate on NUCLEO-L4R5ZI per model placement (`simulate --board`'s "placement" lines):
# name|placement|ms|cycles|wait cycles|RAM bytes|fits
placements=$OUT/placements.txt
: >"$placements"
notes=()

# ---- pack every model -------------------------------------------------------------------------------------
packed=()   # name|mqm|input|key|variant
for m in "${models[@]}"; do
  [ -f "$m" ] || { notes+=("$m: no such file"); fail=1; continue; }
  base=$(basename "$m"); stem=${base%.*}; key=$(key_of "$m"); dir=$(dirname "$m")
  case "$base" in
    *.mqm)
      # random input codes (fixed seed), sized from the model's inputs
      info=$("$SIMULATE" "$m" 2>&1) || { notes+=("$base: not a valid packed model: $(echo "$info" | tail -1)"); fail=1; continue; }
      ins=""
      while read -r idx shape; do
        bytes=$(echo "$shape" | tr x '\n' | awk 'BEGIN { p = 1 } { p *= $1 } END { print p }')
        LC_ALL=C awk -v n=$((bytes * samples)) -v seed=$((11 + idx)) \
          'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }' >"$OUT/$stem-input$idx.bin"
        ins="$ins $OUT/$stem-input$idx.bin"
      done < <(echo "$info" | sed -nE 's/^  input ([0-9]+): .*\[([0-9x]+)\].*/\1 \2/p')
      [ -n "$ins" ] || { notes+=("$base: no inputs found in simulate's description"); fail=1; continue; }
      packed+=("$stem|$m|${ins# }|$key|packed (given), random input codes")
      ;;
    *.onnx)
      calib=$(data_file "$m" calib); test=$(data_file "$m" test)
      if [ -z "$calib" ]; then notes+=("$base: NOT RUN: no calibration data ($dir/${stem}_calib.npy)"); continue; fi
      [ -n "$test" ] || test=$calib
      log=$OUT/$stem.calibrate.log
      if "$CALIBRATE" "$m" --data "$calib" -o "$OUT/$stem.mqm" >"$log" 2>&1; then
        packed+=("$stem|$OUT/$stem.mqm|$test|$key|calibrate (float ONNX, defaults)")
      else
        notes+=("$base: NOT PACKED: calibrate (default options) fails: $(shorten "$(grep -m1 -i 'error' "$log")")")
        [ $quick = 1 ] && fail=1
      fi
      ;;
    *.tflite)
      log=$OUT/$stem.calibrate.log
      test=$(data_file "$m" test)
      if [ -z "$test" ]; then notes+=("$base: NOT RUN: no test inputs ($dir/${stem}_test.npy)"); continue; fi
      if "$CALIBRATE" "$m" -o "$OUT/$stem.mqm" >"$log" 2>&1; then
        packed+=("$stem|$OUT/$stem.mqm|$test|$key|TFLite int8 import")
      else
        msg=$(shorten "$(grep -m1 -i 'error' "$log")")
        case "$msg" in *"--data CALIB.npy is required"*) msg="$msg (this calibrate reads every model as ONNX: no TFLite importer yet)" ;; esac
        notes+=("$base: NOT PACKED: the int8 TFLite import (calibrate $base) fails: $msg")
      fi
      ;;
    *) notes+=("$base: unknown model type (.mqm, .onnx or .tflite)"); fail=1 ;;
  esac
done

# ---- run every packed model on every core ------------------------------------------------------------------
for entry in "${packed[@]}"; do
  IFS='|' read -r name mqm input key variant <<<"$entry"
  inargs=()
  for i in $input; do inargs+=(--input "$i"); done
  info=$("$SIMULATE" "$mqm")
  arena=$(echo "$info" | sed -nE '1s/.*arena ([0-9]+) B \(lower bound ([0-9]+) B\).*/\1/p')
  lower=$(echo "$info" | sed -nE '1s/.*arena ([0-9]+) B \(lower bound ([0-9]+) B\).*/\2/p')
  mbytes=$(stat -c %s "$mqm")
  # out-of-place bounds from calibrate's summary (the packed header has only the plan's own lower bound)
  plain=-; pair=-
  case "$variant" in packed*) ;; *)
    bnd=$(sed -nE 's/.*out of place: plain lower bound ([0-9]+), largest input\+output pair ([0-9]+).*/\1 \2/p' "$OUT/$name.calibrate.log" 2>/dev/null | head -1)
    if [ -n "$bnd" ]; then plain=${bnd% *}; pair=${bnd#* }; fi ;;
  esac
  # estimate on the MLPerf Tiny board (Cortex-M4 at 120 MHz); the op kinds give the kernel families the model uses
  fit=$("$SIMULATE" "$mqm" --board nucleo-l4r5zi 2>&1 || true)
  nuc=$(echo "$fit" | sed -nE 's/^  total \(estimate\) +([0-9.]+) us.*/\1/p')
  cpi=$(echo "$fit" | sed -nE 's/^  cycle model: cycles = instructions x CPI ([0-9.]+).*/\1/p')
  waits=$(echo "$fit" | sed -nE 's/^  cycle model:.*: ([0-9]+) wait cycles.*/\1/p')
  echo "$fit" | sed -nE 's/^  placement ([a-z-]+) +([0-9.]+) ms +([0-9]+) cycles +([0-9]+) wait cycles +RAM +([0-9]+) B +[0-9.]+%: (fits|DOES NOT FIT).*/\1|\2|\3|\4|\5|\6/p' |
    while IFS= read -r row; do echo "$name|$row"; done >>"$placements"
  used=$(echo "$fit" | sed -nE 's/^ *[0-9]+  ([a-z0-9_+]+) +\[.*/\1/p' | tr '+' '\n' | sort -u | while read -r kind; do
    case $kind in
      fully_connected) echo gemm ;;
      conv*) echo conv gemm ;;
      depthwise*) echo depthwise ;;
      average_pool|max_pool|mean) echo pool ;;
      mul|requantize) echo elementwise ;;
      reshape) ;;
      *) for f in $(printf '%s\n' "${family[@]}" | sort -u); do case $kind in *"$f"*) echo "$f" ;; esac; done ;;
    esac
  done | tr ' ' '\n' | sort -u | tr '\n' ' ')
  "$SIMULATE" "$mqm" "${inargs[@]}" --limit "$samples" --output "$OUT/$name-host.npy" --raw >"$OUT/$name-host.log" 2>&1 \
    || { notes+=("$name: host simulation failed: $(tail -1 "$OUT/$name-host.log")"); fail=1; continue; }
  for c in $cores; do
    b=$(board_of "$c")
    log=$OUT/$name-$c.log
    echo "bench-models: $name ($variant) on $c ($b) ..."
    if ! "$SIMULATE" "$mqm" "${inargs[@]}" --limit "$samples" --board "$b" --qemu --work-dir "$OUT/fw-$name" \
         --output "$OUT/$name-$c.npy" --raw >"$log" 2>&1; then
      notes+=("$name on $c: FAILED: $(tail -3 "$log" | tr '\n' ' ' | cut -c1-300)"); fail=1; continue
    fi
    same=no
    if grep -q "byte-identical" "$log"; then
      same=yes
      for h in "$OUT/$name"-host*.npy; do cmp -s "$h" "${h/-host/-$c}" || same=no; done
    fi
    [ $same = yes ] || fail=1
    insns=$(sed -nE 's/^device: mq_model_run executed ([0-9]+) instructions per inference.*/\1/p' "$log")
    est=$(sed -nE 's/.*the fit report.s estimate ([0-9]+) is.*/\1/p' "$log")
    [ -n "$insns" ] && [ "$insns" -gt 0 ] || { notes+=("$name on $c: no instruction count in $log"); fail=1; continue; }
    # sanity of the cost model: its estimate within 0.5x..2x of the measurement (0.95-1.04x on AD, KWS, the
    # bundled example and the IC / VWW stand-ins after the 2026-12-04 five-model refit, scripts/fit-cost-model.sh)
    if [ -n "$est" ] && ! awk -v e="$est" -v m="$insns" 'BEGIN { exit !(e >= 0.5 * m && e <= 2 * m) }'; then
      notes+=("$name on $c: the cost model's estimate $est is outside 0.5x..2x of the measured $insns (boards/cost-model.json out of date?)"); fail=1
    fi
    map=$OUT/fw-$name/$b/build/mq_firmware.map
    read -r rt kn other ku < <(text_split "$map" "$used")
    stack=$(sed -nE 's/.*stack used ([0-9]+) B.*/\1/p' "$log")
    echo "$name|$key|$variant|$c|$insns|$est|$arena|$lower|$mbytes|$rt|$kn|$other|$same|$stack|$nuc|$ku|$used|${cpi:-1}|${waits:-0}|$plain|$pair" >>"$results"
    echo "  $insns instructions per inference (SysTick, mean of $samples), estimate $est; text runtime $rt + kernels $kn (families the model uses, ${used% }: $ku) + other $other B; device == host: $same"
  done
done

# ---- the table -----------------------------------------------------------------------------------------------
echo
echo "== MicroQuant vs TFLite Micro + CMSIS-NN (instructions per inference; ratio = ours / TFLM) =="
if awk -F'|' '$2 == "ic" || $2 == "vww" { f = 1 } END { exit !f }' "$results"; then
  echo "   ic_* / vww_*: same-architecture stand-ins of MLPerf Tiny's ResNet-8 and MobileNetV1 0.25 (bench/models, random"
  echo "   weights, scripts/make_mlperf_style_models.py); the TFLM column is issue 11's figure for the TRAINED files"
fi
printf '%-34s %-4s %12s %7s %12s %6s %10s %14s %9s %8s %28s %5s\n' \
  "model (how packed)" core "instructions" "/MAC" "TFLM+CMSIS" ratio "estimate" "est/measured" "arena B" "model B" "text rt+kern(used)+other B" "same"
while IFS='|' read -r name key variant c insns est arena lower mbytes rt kn other same stack nuc ku used cpi waits plain pair; do
  r=$(ref "$key"); tf=-; ratio=-; permac=-
  if [ -n "$r" ]; then
    set -- $r; macs=$1
    case $c in m3) tf=$2 ;; m4) tf=$3 ;; m7) tf=$4 ;; m55) tf=$5 ;; esac
    ratio=$(awk -v a="$insns" -v b="$tf" 'BEGIN { printf "%.2f", a / b }')
    permac=$(awk -v a="$insns" -v b="$macs" 'BEGIN { printf "%.2f", a / b }')
  fi
  er=$(awk -v a="$est" -v b="$insns" 'BEGIN { if (a > 0) printf "%.2f", a / b; else print "-" }')
  short="$name ($( [ "$variant" = "calibrate (float ONNX, defaults)" ] && echo calibrated || echo "$variant"))"
  printf '%-34s %-4s %12s %7s %12s %6s %10s %14s %9s %8s %28s %5s\n' "${short:0:34}" "$c" "$insns" "$permac" "$tf" "$ratio" \
    "$est" "$er" "$arena" "$mbytes" "$rt+$kn($ku)+$other" "$same"
done <"$results"
echo
echo "== memory (arena planned on the host, exact; TFLite Micro keeps per-channel multipliers/shifts in its arena, MicroQuant in flash) =="
echo "   lower bound: of this plan (in-place ops share a buffer); out of place: plain lower bound (largest simultaneously live"
echo "   tensors + scratch) and the largest input+output pair of one op, which only in-place execution can go below"
printf '%-26s %8s %12s %12s %10s %16s %6s %11s %9s %8s %28s\n' "model" "arena B" "lower bound" "plain bound" "pair bound" "TFLM arena (M4)" "ratio" "act. bound" "model B" "stack B" "flash: model+rt+used kern B"
awk -F'|' '$4 == "m4" || !($1 in m4) { if ($4 == "m4") m4[$1] = 1; last[$1] = $0 } END { for (k in last) print last[k] }' "$results" | sort | while IFS='|' read -r name key variant c insns est arena lower mbytes rt kn other same stack nuc ku used cpi waits plain pair; do
  r=$(ref "$key"); tfa=-; ratio=-; lb=-
  if [ -n "$r" ]; then set -- $r; tfa=$6; lb=$7; ratio=$(awk -v a="$arena" -v b="$tfa" 'BEGIN { printf "%.2f", a / b }'); fi
  printf '%-26s %8s %12s %12s %10s %16s %6s %11s %9s %8s %28s\n' "${name:0:26}" "$arena" "$lower" "${plain:--}" "${pair:--}" "$tfa" "$ratio" "$lb" "$mbytes" "${stack:--}" "$((mbytes + rt + ku)) (on $c)"
done
echo
echo "== latency on NUCLEO-L4R5ZI (Cortex-M4, 120 MHz): cycle model (boards/cycle-model.json + board.json) vs best published MLPerf Tiny =="
echo "   estimate = cost-model instructions x CPI + flash wait states; measured-based = the M4 instructions measured here x CPI + the same wait states"
echo "   first row per model: the model read in place from flash in the board's factory mode (what a default build does); then"
echo "   flash single-bank (option bit DBANK = 0: 16-byte flash reads) and the model in SRAM (MQ_MODEL_IN_RAM; total RAM of"
echo "   the firmware), both \`simulate --board nucleo-l4r5zi --placement ...\`; the same instructions in every placement"
printf '%-30s %6s %13s %16s %19s %28s %10s %10s\n' "model (placement)" "CPI" "wait cycles" "estimate" "measured-based" "best published" "est/pub" "meas/pub"
awk -F'|' '$4 == "m4"' "$results" | while IFS='|' read -r name key variant c insns est arena lower mbytes rt kn other same stack nuc ku used cpi waits plain pair; do
  p=$(published "$key"); pub=-; pr=-; mr=-
  mcyc=$(awk -v a="$insns" -v c="$cpi" -v w="$waits" 'BEGIN { printf "%.0f", a * c + w }')
  meas=$(awk -v m="$mcyc" 'BEGIN { printf "%.3f ms", m / 120000 }')
  e=$(awk -v a="$nuc" 'BEGIN { if (a > 0) printf "%.3f ms", a / 1000; else print "-" }')
  if [ -n "$p" ]; then
    set -- $p; pub="$1 ms (${*:2})"
    pr=$(awk -v a="$nuc" -v b="$1" 'BEGIN { if (a > 0) printf "%.2f", a / 1000 / b; else print "-" }')
    mr=$(awk -v m="$mcyc" -v b="$1" 'BEGIN { printf "%.2f", m / 120000 / b }')
  fi
  printf '%-30s %6s %13s %16s %19s %28s %10s %10s\n' "${name:0:30}" "$cpi" "$waits" "$e" "$meas" "$pub" "$pr" "$mr"
  # the other placements the board supports (simulate --placement): the same instructions, other wait states
  awk -F'|' -v n="$name" '$1 == n && $2 != "flash"' "$placements" | while IFS='|' read -r _ pl pms pcyc pw pram pfit; do
    case $pl in
      flash-single-bank) label="  flash single-bank" ;;
      ram) label="  model in SRAM ($(awk -v b="$pram" 'BEGIN { printf "%.0f", b / 1024 }') KB RAM)" ;;
      *) label="  $pl" ;;
    esac
    [ "$pfit" = fits ] || label="$label DOES NOT FIT"
    pmc=$(awk -v a="$insns" -v c="$cpi" -v w="$pw" 'BEGIN { printf "%.0f", a * c + w }')
    ppr=-; pmr=-
    if [ -n "$p" ]; then
      set -- $p
      ppr=$(awk -v a="$pms" -v b="$1" 'BEGIN { printf "%.2f", a / b }')
      pmr=$(awk -v m="$pmc" -v b="$1" 'BEGIN { printf "%.2f", m / 120000 / b }')
    fi
    printf '%-30s %6s %13s %16s %19s %28s %10s %10s\n' "${label:0:30}" "$cpi" "$pw" "$pms ms" \
      "$(awk -v m="$pmc" 'BEGIN { printf "%.3f ms", m / 120000 }')" "" "$ppr" "$pmr"
  done
done
echo
echo "== issue 11 goals (instructions: AD <= 0.7x TFLM on M4/M7, convolutional models <= 0.6x, <= 0.8x on M3/M55; arena <= 0.6x; latency estimate below the best published) =="
while IFS='|' read -r name key variant c insns est arena lower mbytes rt kn other same stack nuc ku used cpi waits plain pair; do
  r=$(ref "$key"); [ -n "$r" ] || continue
  set -- $r
  case $c in m3) tf=$2 ;; m4) tf=$3 ;; m7) tf=$4 ;; m55) tf=$5 ;; esac
  case $c in m4|m7) goal=$([ "$key" = ad ] && echo 0.7 || echo 0.6) ;; *) goal=0.8 ;; esac
  awk -v n="$name" -v c="$c" -v a="$insns" -v t="$tf" -v g="$goal" 'BEGIN {
    r = a / t; printf "  %-26s %-4s instructions %.2fx TFLM (goal %.1fx): %s\n", n, c, r, g,
      (r <= g ? "met" : sprintf("MISSED by %.0f instructions (%.0f %%)", a - g * t, 100 * (a - g * t) / (g * t))) }'
done <"$results"
awk -F'|' '$4 == "m4" || !($1 in m4) { if ($4 == "m4") m4[$1] = 1; last[$1] = $0 } END { for (k in last) print last[k] }' "$results" | sort |
while IFS='|' read -r name key variant c insns est arena lower mbytes rt kn other same stack nuc ku used cpi waits plain pair; do
  r=$(ref "$key"); [ -n "$r" ] || continue
  set -- $r; tfa=$6
  p=$(published "$key"); set -- $p; pubms=${1:-0}
  awk -v n="$name" -v a="$arena" -v t="$tfa" -v e="$nuc" -v p="$pubms" 'BEGIN {
    r = a / t; printf "  %-26s arena %.2fx TFLM (goal 0.6x): %s\n", n, r, (r <= 0.6 ? "met" : "MISSED")
    if (e > 0 && p > 0) printf "  %-26s latency estimate %.2f ms vs published %.2f ms (NUCLEO-L4R5ZI): %s\n", n, e / 1000, p, (e / 1000 < p ? "met" : sprintf("MISSED (%.2fx)", e / 1000 / p)) }'
  # the same goal per placement (simulate --placement): flash single-bank (option bit DBANK = 0), the model in SRAM
  if [ "$pubms" != 0 ]; then
    awk -F'|' -v n="$name" -v p="$pubms" '$1 == n && $2 != "flash" {
      what = ($2 == "ram") ? sprintf("model in SRAM (%.0f KB RAM)", $6 / 1024) : ($2 == "flash-single-bank" ? "flash single-bank" : $2)
      printf "  %-26s   %-28s latency estimate %.2f ms vs published %.2f ms: %s\n", n, what, $3, p,
        ($7 != "fits" ? "does not fit the board" : ($3 < p ? "met" : sprintf("MISSED (%.2fx)", $3 / p))) }' "$placements"
  fi
  # flash: packed model + runtime + the kernel families the model uses vs TFLite Micro's (.tflite + its code)
  tf=$(tflm_flash "$key")
  if [ -n "$tf" ] && [ -f "$MODELS_DIR/$(echo "$tf" | cut -d' ' -f2)" ]; then
    set -- $tf; tcode=$1; tfile=$2; shift 2
    tbytes=$(stat -c %s "$MODELS_DIR/$tfile")
    awk -v n="$name" -v o=$((mbytes + rt + ku)) -v mb="$mbytes" -v rt="$rt" -v ku="$ku" -v c="$c" -v tb="$tbytes" \
        -v tc="$tcode" -v tf="$tfile" -v what="$*" -v key="$key" 'BEGIN {
      t = tb + tc
      printf "  %-26s flash %d B (model %d + runtime %d + used kernels %d, %s) vs TFLM %s%d B (%s %d + %s): %.3fx, %s\n",
        n, o, mb, rt, ku, c, (key == "ad" ? ">= " : "~"), t, tf, tb, what, o / t,
        (o <= t ? "met" : (key == "ad" ? sprintf("NOT SHOWN (met only if TFLM'"'"'s FULLY_CONNECTED kernel code is >= %d B)", o - t) : "MISSED")) }'
  fi
done

if [ ${#notes[@]} -gt 0 ]; then
  echo
  echo "== not measured / problems =="
  for n in "${notes[@]}"; do echo "  - $n"; done
fi

# ---- exact counter cross-check (optional) ----------------------------------------------------------------------
if [ -n "$CMCOUNT" ]; then
  echo
  first=$(awk -F'|' '$4 == "m4" { print $1; exit }' "$results")
  if [ ! -f "$CMCOUNT/cmcount.py" ]; then
    echo "bench-models: --cmcount $CMCOUNT: no cmcount.py there; exact cross-check skipped"
  elif [ -z "$first" ]; then
    echo "bench-models: exact cross-check needs an M4 run (--cores with m4); skipped"
  else
    tool=$OUT/cmcount
    if [ ! -f "$tool/plugin/libcmcount.so" ]; then
      rm -rf "$tool"; cp -r "$CMCOUNT" "$tool"; chmod -R u+w "$tool"
      make -s -C "$tool/plugin" >/dev/null
    fi
    elf=$OUT/fw-$first/mps2-an386/build/mq_firmware.elf
    echo "== exact counts (cmcount TCG plugin) of $first on M4: $elf =="
    python3 "$tool/cmcount.py" -M mps2-an386 --func mq_model_run --json "$elf" >"$OUT/$first-cmcount-run.json"
    # grep -c reads all of nm's output (grep -q may exit first and fail the pipe under pipefail)
    if [ "$(arm-none-eabi-nm "$elf" | grep -c ' [tT] mq_run_op$' || true)" -gt 0 ]; then
      python3 "$tool/cmcount.py" -M mps2-an386 --func mq_run_op --prof --json "$elf" >"$OUT/$first-cmcount-ops.json"
    else  # mq_run_op inlined into mq_model_run: the per-function breakdown of the whole inference instead
      python3 "$tool/cmcount.py" -M mps2-an386 --func mq_model_run --prof --json "$elf" >"$OUT/$first-cmcount-ops.json"
      echo "(mq_run_op is inlined in this build: no per-layer split; per function over whole inferences)"
    fi
    sys=$(awk -F'|' -v n="$first" '$1 == n && $4 == "m4" { print $5 }' "$results")
    python3 - "$OUT/$first-cmcount-run.json" "$OUT/$first-cmcount-ops.json" "$sys" "$OUT/$first.mqm" <<'PY'
import json, sys
run = json.load(open(sys.argv[1])); ops = json.load(open(sys.argv[2])); systick = float(sys.argv[3])
calls = [r["net"] for r in run["regions"]]
if not calls:
    sys.exit("cmcount: no mq_model_run call counted")
mean = sum(calls) / len(calls)
print("mq_model_run exact: %s per call (mean %.0f); SysTick figure %.0f (difference %+.0f: SysTick also counts the"
      " timer reads and the call)" % (", ".join(str(c) for c in calls), mean, systick, systick - mean))
regs = ops["regions"]
nops = max(1, len(regs) // len(calls))
print("per layer (mq_run_op, first inference; share of mq_model_run):")
tot = {}
for r in regs[:nops]:
    top = sorted(r.get("by_function", {}).items(), key=lambda kv: -kv[1])
    print("  op %2d %9d  %5.1f %%  %s" % (regs.index(r), r["net"], 100.0 * r["net"] / calls[0],
          ", ".join("%s %d" % kv for kv in top[:4])))
    for f, n in r.get("by_function", {}).items():
        tot[f] = tot.get(f, 0) + n
ops_sum = sum(r["net"] for r in regs[:nops])
print("by function over all layers (first inference, %d of mq_model_run's %d in the ops, the rest in the interpreter):" % (ops_sum, calls[0]))
for f, n in sorted(tot.items(), key=lambda kv: -kv[1]):
    print("  %-34s %9d  %5.1f %%" % (f, n, 100.0 * n / calls[0]))
PY
    for c in m4 m3; do
      b=$(board_of "$c"); e=$OUT/fw-$first/$b/build/mq_firmware.elf
      [ -f "$e" ] || continue
      echo "instruction classes and cycles at zero wait states on $c (scripts/insn-mix.py, the core's TRM timings):"
      # the second inference (caches warm), or the only one with --samples 1
      python3 "$ROOT/scripts/insn-mix.py" --cmcount "$tool" -M "$b" --func mq_model_run --core "$c" \
        --call "$([ "$samples" -ge 2 ] && echo 1 || echo 0)" "$e" | sed 's/^/  /'
    done
  fi
fi

if [ $fail -ne 0 ]; then echo "bench-models: FAILED"; exit 1; fi
echo "bench-models: done (device outputs byte-identical to the host on every run)"
