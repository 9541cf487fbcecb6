#!/usr/bin/env bash
# Boards and device-in-the-loop tests (part of the README test command, scripts/test.sh):
#   1. the demo model generator is deterministic and matches the committed boards/common/demo.*;
#   2. models calibrated here with `calibrate` (the bundled examples in examples/, and every ONNX
#      fixture of the importer's tests that calibrate accepts), the demo model covering every op, and
#      the runtime's fixture (also checked against its independent expected outputs) run under QEMU
#      with outputs byte-identical to the host simulation (`simulate --output --raw` of the host run
#      vs the device run, compared with cmp; at most 64 samples each): the bundled examples, the demo
#      the runtime fixture, every importer fixture and two pre-quantized ONNX (QDQ) fixtures (single-rounding FC,
#      conv, depthwise, SOFTMAX_TABLE: mobilenet_block_u8; MUL: squeeze_excitation_s8 on M3 / M55 only), each on
#      all four QEMU boards (M3, M4, M7, M55); the
#      bundled example bandlevels is calibrated with --precision auto (int16 layers, packed format 2.1);
#      simulate --reference on the bundled example gives the calibrate report's SQNR (same samples);
#   3. both embedding ways (.incbin, generated C array, and `simulate --emit-c-array` as MQ_MODEL_C); the model
#      in RAM (MQ_MODEL_IN_RAM, `simulate --placement ram`) byte-identical, and RAM overflow a link error naming
#      the board;
#   4. every board (QEMU and real) builds warning-free with the documented one-line command;
#   5. firmware error paths on the device (corrupt model rejected by the device loader, arena too
#      small, input not whole samples: MQ-DONE status + exit code);
#   6. bad input: corrupt/truncated model, wrong input shape/dtype, model too big for a board,
#      missing arm-none-eabi-gcc or qemu-system-arm (PATH manipulation), unknown/non-emulated board:
#      each must fail with a non-zero exit and a clear message.
# Environment: SIMULATE=/path/to/simulate to use a prebuilt binary (default: swift build --product simulate).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$ROOT/build/test-boards
rm -rf "$WORK"
mkdir -p "$WORK"
fails=0
passes=0
pass() { echo "  ok    $*"; passes=$((passes + 1)); }
fail() { echo "  FAIL  $*"; fails=$((fails + 1)); }

if [ -z "${SIMULATE:-}" ] || [ -z "${CALIBRATE:-}" ]; then
  swift build --product simulate >/dev/null
  swift build --product calibrate >/dev/null
  SIMULATE=$(swift build --show-bin-path)/simulate
  CALIBRATE=$(swift build --show-bin-path)/calibrate
fi
[ -x "$SIMULATE" ] || { echo "test-boards: simulate binary not found at $SIMULATE"; exit 1; }
[ -x "$CALIBRATE" ] || { echo "test-boards: calibrate binary not found at $CALIBRATE"; exit 1; }
echo "test-boards: simulate = $SIMULATE, calibrate = $CALIBRATE"

echo "== demo model generator (boards/tools/mq_demo_model.c) =="
cc -std=c99 -O2 -Wall -Wextra -Wpedantic -Wconversion -Werror -Icsrc/include -Icsrc/src \
  boards/tools/mq_demo_model.c $(find csrc/src -name "*.c" | sort) csrc/host/*.c -lm -o "$WORK/demo"
"$WORK/demo" "$WORK/demo.mqm" "$WORK/demo_input.bin" "$WORK/demo_x.npy" "$WORK/demo_z.npy" >/dev/null
for f in demo.mqm demo_input.bin demo_x.npy demo_z.npy; do
  if cmp -s "$WORK/$f" "boards/common/$f"; then pass "regenerated $f is identical to the committed one"
  else fail "boards/common/$f differs from the generator's output (regenerate it)"; fi
done

# model fixtures: name|model|input files (space separated)
models=("demo|boards/common/demo.mqm|boards/common/demo_x.npy boards/common/demo_z.npy")
echo "== calibrate the bundled examples and the importer's ONNX fixtures =="
mkdir -p "$WORK/models"
for onnx in examples/*.onnx; do
  base=$(basename "$onnx" .onnx)
  [ -f "examples/${base}_calib.npy" ] && [ -f "examples/${base}_test.npy" ] || continue
  # bandlevels is the int16 fixture (issue 12): --precision auto gives a mixed int8/int16 model (format 2.1)
  prec=()
  [ "$base" = bandlevels ] && prec=(--precision auto)
  if "$CALIBRATE" "$onnx" --data "examples/${base}_calib.npy" "${prec[@]}" -o "$WORK/models/$base.mqm" >"$WORK/models/$base.log" 2>&1; then
    models+=("$base|$WORK/models/$base.mqm|examples/${base}_test.npy")
    pass "calibrated bundled example $base"
  else
    fail "calibrate $onnx: $(tail -2 "$WORK/models/$base.log")"
  fi
done
fixture_ok=0; fixture_skipped=""
for npy in Tests/MicroQuantTests/Fixtures/onnx/*_input.npy; do
  [ -f "$npy" ] || continue
  base=$(basename "$npy" _input.npy)
  if "$CALIBRATE" "Tests/MicroQuantTests/Fixtures/onnx/$base.onnx" --data "$npy" -o "$WORK/models/fx-$base.mqm" >"$WORK/models/fx-$base.log" 2>&1; then
    models+=("fx-$base|$WORK/models/fx-$base.mqm|$npy"); fixture_ok=$((fixture_ok + 1))
  else
    # import-only fixtures that calibrate rejects on purpose (with a message) are listed, not run
    fixture_skipped="$fixture_skipped $base"
  fi
done
echo "  note  $fixture_ok importer fixtures calibrated; calibrate rejected (not run on QEMU):${fixture_skipped:- none}"

echo "== simulate --reference on the bundled example: SQNR consistent with the calibrate report =="
if [ -f examples/tinyconv.onnx ] && [ -f "$WORK/models/tinyconv.mqm" ]; then
  cal=$(grep -E '^model output .*SQNR' "$WORK/models/tinyconv.log" | head -1 | sed -E 's/.*SQNR (-?[0-9.]+) dB.*/\1/')
  sim=$("$SIMULATE" "$WORK/models/tinyconv.mqm" --input examples/tinyconv_calib.npy --limit 256 \
          --reference examples/tinyconv.onnx | grep -E '^  output 0 .*SQNR' | sed -E 's/.*SQNR (-?[0-9.]+) dB.*/\1/')
  if [ -n "$cal" ] && [ -n "$sim" ] && awk -v a="$cal" -v b="$sim" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1) }'; then
    pass "tinyconv: simulate --reference SQNR $sim dB vs calibrate report $cal dB (same 256 calibration samples)"
  else
    fail "tinyconv: simulate --reference SQNR '$sim' dB vs calibrate report '$cal' dB"
  fi
fi
# the runtime's fixture: raw input codes input_<i>.bin, expected outputs expected_<i>.bin computed by an
# independent int64/float64 reference (csrc/tools/mq_gen_fixture.c)
if [ -f csrc/tests/fixtures/model.mqm ]; then
  models+=("runtime-fixture|csrc/tests/fixtures/model.mqm|$(ls csrc/tests/fixtures/input_*.bin | sort | tr '\n' ' ')")
fi
# the convolutional fixture (2 inputs, 2 outputs, every format-2 op); the firmware is built with its op list
if [ -f csrc/tests/fixtures/convnet.mqm ]; then
  models+=("convnet-fixture|csrc/tests/fixtures/convnet.mqm|$(ls csrc/tests/fixtures/convnet_input_*.bin | sort | tr '\n' ' ')")
fi

# pre-quantized ONNX (QDQ) imports: single-rounding FC / conv / depthwise (header flags bits 0 and 1) on the fast
# kernels, SOFTMAX_TABLE (mobilenet_block: conv, depthwise, 1x1, FC, softmax) and the single-rounding MUL
# (squeeze_excitation); both activation types, 4 samples each; mobilenet_block on every QEMU board like the models
# above, squeeze_excitation on M3 and M55
echo "== pre-quantized ONNX (QDQ) fixtures =="
for qdq in mobilenet_block_u8 squeeze_excitation_s8; do
  onnx=Tests/MicroQuantTests/Fixtures/onnx_qdq/$qdq.onnx
  npy=Tests/MicroQuantTests/Fixtures/onnx_qdq/${qdq%_*}_input.npy
  if "$CALIBRATE" "$onnx" --data "$npy" -o "$WORK/models/qdq-$qdq.mqm" >"$WORK/models/qdq-$qdq.log" 2>&1; then
    # header flags (u32 at byte 20, docs/FORMAT.md): the single-rounding FC (bit 0) / conv (bit 1) output stages
    flags=$(od -An -tu4 -j20 -N4 "$WORK/models/qdq-$qdq.mqm" | tr -d ' ')
    want=3
    if [ "$flags" = "$want" ]; then
      # squeeze_excitation (its MUL: portable code on every core) on M3 and M55 only, to keep the added time short
      only=""; [ "$qdq" = squeeze_excitation_s8 ] && only="mps2-an385 mps3-an547"
      models+=("qdq-$qdq|$WORK/models/qdq-$qdq.mqm|$npy|$only")
      pass "packed QDQ fixture $qdq (header flags $flags: single rounding)"
    else
      fail "packed QDQ fixture $qdq: header flags $flags, want $want"
    fi
  else
    fail "calibrate $onnx: $(tail -2 "$WORK/models/qdq-$qdq.log")"
  fi
done

echo "== QEMU boards: device outputs byte-identical to the host simulation =="
qemu_boards="mps2-an385 mps2-an386 mps2-an500 mps3-an547"
for entry in "${models[@]}"; do
  IFS='|' read -r name model inputs only <<<"$entry"
  boards_for=${only:-$qemu_boards}
  inargs=()
  for i in $inputs; do inargs+=(--input "$i"); done
  "$SIMULATE" "$model" "${inargs[@]}" --limit 64 --output "$WORK/$name-host.npy" --raw >"$WORK/$name-host.log" 2>&1 \
    || { fail "$name: host simulation failed: $(tail -3 "$WORK/$name-host.log")"; continue; }
  if [ "$name" = runtime-fixture ] || [ "$name" = convnet-fixture ]; then
    # host vs the fixture's independent reference (the .npy data are the last bytes of the file)
    prefix=""; [ "$name" = convnet-fixture ] && prefix="convnet_"
    for e in csrc/tests/fixtures/${prefix}expected_*.bin; do
      i=${e##*_}; i=${i%.bin}
      h=$WORK/$name-host.npy; [ "$i" = 0 ] || h=$WORK/$name-host_$i.npy
      if tail -c "$(stat -c %s "$e")" "$h" | cmp -s - "$e"; then pass "runtime fixture output $i: host == independent reference ($e)"
      else fail "runtime fixture output $i: host differs from $e"; fi
    done
  fi
  for b in $boards_for; do
    log=$WORK/$name-$b.log
    if "$SIMULATE" "$model" "${inargs[@]}" --limit 64 --board "$b" --qemu --work-dir "$WORK/fw" \
         --output "$WORK/$name-$b.npy" --raw >"$log" 2>&1 && grep -q "byte-identical" "$log"; then
      same=1
      for h in "$WORK/$name"-host*.npy; do
        d=${h/-host/-$b}
        cmp -s "$h" "$d" || same=0
      done
      if [ $same = 1 ]; then pass "$name on $b: $(grep '^device ' "$log" | head -1 | sed 's/^device [^:]*: //')"
      else fail "$name on $b: simulate said identical but the written .npy files differ"; fi
    else
      fail "$name on $b: $(tail -5 "$log")"
    fi
  done
done

echo "== embedding: generated C array (bin2c) and simulate --emit-c-array =="
log=$WORK/carray.log
if "$SIMULATE" boards/common/demo.mqm --input boards/common/demo_x.npy --input boards/common/demo_z.npy \
     --board mps2-an386 --qemu --embed carray --work-dir "$WORK/fw-carray" --output "$WORK/carray.npy" --raw >"$log" 2>&1 \
   && cmp -s "$WORK/carray.npy" "$WORK/demo-host.npy"; then
  pass "MQ_EMBED=carray on mps2-an386: byte-identical"
else
  fail "MQ_EMBED=carray: $(tail -5 "$log")"
fi
"$SIMULATE" boards/common/demo.mqm --emit-c-array "$WORK/model_array.c" --symbol mq_fw_model >/dev/null
cmake -S boards -B "$WORK/fw-emit" -DBOARD=mps2-an385 -DMQ_MODEL_C="$WORK/model_array.c" >/dev/null
cmake --build "$WORK/fw-emit" -j2 >"$WORK/fw-emit.log" 2>&1 || fail "MQ_MODEL_C build: $(tail -5 "$WORK/fw-emit.log")"
cmake -S boards -B "$WORK/fw-incbin" -DBOARD=mps2-an385 >/dev/null
cmake --build "$WORK/fw-incbin" -j2 >"$WORK/fw-incbin.log" 2>&1 || fail "default build: $(tail -5 "$WORK/fw-incbin.log")"
run_fw() { timeout 60 qemu-system-arm -M "$1" -nographic -monitor none -serial null \
             -semihosting-config enable=on,target=native -kernel "$2" 2>&1; }
a=$(run_fw mps2-an385 "$WORK/fw-emit/mq_firmware.elf" | grep '^MQ-OUT' || true)
b=$(run_fw mps2-an385 "$WORK/fw-incbin/mq_firmware.elf" | grep '^MQ-OUT' || true)
if [ -n "$a" ] && [ "$a" = "$b" ]; then pass "simulate --emit-c-array firmware prints the same outputs as the .incbin firmware ($(echo "$a" | wc -l) lines)"
else fail "--emit-c-array firmware output differs from the .incbin firmware"; fi

echo "== model placement: the packed model in RAM (simulate --placement ram = boards MQ_MODEL_IN_RAM) =="
for emb in incbin carray; do
  log=$WORK/ram-$emb.log
  if "$SIMULATE" boards/common/demo.mqm --input boards/common/demo_x.npy --input boards/common/demo_z.npy \
       --board mps2-an386 --qemu --placement ram --embed $emb --work-dir "$WORK/fw-ram-$emb" --output "$WORK/ram-$emb.npy" \
       --raw >"$log" 2>&1 && cmp -s "$WORK/ram-$emb.npy" "$WORK/demo-host.npy"; then
    # the array must really be in RAM (mps2-an386: 0x20000000..), not in flash
    addr=$(arm-none-eabi-nm "$WORK/fw-ram-$emb/mps2-an386/build/mq_firmware.elf" | awk '$3 == "mq_fw_model" { print $1 }')
    case $addr in 2*) pass "model in RAM ($emb, mq_fw_model at 0x$addr) on mps2-an386: byte-identical to the host" ;;
                  *) fail "--placement ram ($emb): mq_fw_model at 0x$addr, not in RAM" ;; esac
  else
    fail "--placement ram ($emb): $(tail -5 "$log")"
  fi
done

echo "== firmware error paths (device side) =="
cp boards/common/demo.mqm "$WORK/corrupt.mqm"
printf '\xff' | dd of="$WORK/corrupt.mqm" bs=1 seek=3000 conv=notrunc status=none
head -c 1000 boards/common/demo.mqm >"$WORK/truncated.mqm"
fw_expect() {  # fw_expect "what" expected-exit "MQ-DONE regex" cmake-args...
  local what=$1 want=$2 re=$3; shift 3
  local dir=$WORK/fw-err-$want out rc=0
  cmake -S boards -B "$dir" -DBOARD=mps2-an385 "$@" >"$dir.log" 2>&1 && cmake --build "$dir" -j2 >>"$dir.log" 2>&1 \
    || { fail "$what: build failed: $(tail -3 "$dir.log")"; return; }
  out=$(run_fw mps2-an385 "$dir/mq_firmware.elf") || rc=$?
  if [ $rc -eq "$want" ] && echo "$out" | grep -Eq "$re"; then pass "$what -> exit $rc, $(echo "$out" | grep -E "$re" | head -1)"
  else fail "$what: exit $rc, output: $(echo "$out" | tail -2)"; fi
}
fw_expect "firmware with a corrupt model: the device loader rejects it" 19 "^MQ-DONE 19 " -DMQ_MODEL="$WORK/corrupt.mqm"
fw_expect "firmware whose arena is smaller than the model's" 91 "^MQ-DONE 91 " -DMQ_ARENA_SIZE=64
fw_expect "firmware with an input file that is not whole samples" 93 "^MQ-DONE 93 " -DMQ_INPUT="$WORK/truncated.mqm"
# a --rounding onnxruntime model (header flag bit 2) on a firmware whose op list leaves out ORT_FLOAT32: rejected at load
ort_ops=$("$SIMULATE" csrc/tests/fixtures/ort_f32.mqm --print-ops | sed 's/;ORT_FLOAT32//')
fw_expect "firmware without ORT_FLOAT32 given a --rounding onnxruntime model: MQ_ERR_UNSUPPORTED_OP" 23 "^MQ-DONE 23 " \
  -DMQ_MODEL="$PWD/csrc/tests/fixtures/ort_f32.mqm" -DMQ_OPS="$ort_ops"

echo "== every board builds warning-free (cmake -S boards -B build/boards/NAME -DBOARD=NAME) =="
for json in boards/*/board.json; do
  b=$(basename "$(dirname "$json")")
  dir=$WORK/build-$b
  if cmake -S boards -B "$dir" -DBOARD="$b" >"$dir.log" 2>&1 && cmake --build "$dir" -j2 >>"$dir.log" 2>&1; then
    if grep -qi "warning" "$dir.log"; then fail "$b: build printed warnings: $(grep -i warning "$dir.log" | head -3)"
    else pass "$b: $(arm-none-eabi-size "$dir/mq_firmware.elf" | tail -1 | awk '{ printf "text %d, data %d, bss %d", $1, $2, $3 }')"; fi
  else
    fail "$b: build failed: $(tail -5 "$dir.log")"
  fi
done
if [ -f "$WORK/build-rpi-pico/mq_firmware.elf" ]; then
  v=$(arm-none-eabi-nm "$WORK/build-rpi-pico/mq_firmware.elf" | awk '$3 == "mq_vector_table" { print $1 }')
  [ "$v" = "10000100" ] && pass "rpi-pico: vector table at 0x10000100 after the 256-byte boot2 slot" || fail "rpi-pico: vector table at 0x$v"
fi

# RAM overflow is a link error that names the board: the model in RAM with an arena too big for nucleo-l4r5zi's 640 KiB
# (the board's build directory above, reconfigured: only main.c and the model are rebuilt)
dir=$WORK/build-nucleo-l4r5zi
if cmake -S boards -B "$dir" -DBOARD=nucleo-l4r5zi -DMQ_MODEL_IN_RAM=ON -DMQ_ARENA_SIZE=650000 >"$dir-ovf.log" 2>&1 \
   && ! cmake --build "$dir" -j2 >>"$dir-ovf.log" 2>&1 && grep -q "RAM overflow on board nucleo-l4r5zi" "$dir-ovf.log"; then
  pass "RAM overflow (model in RAM + 650,000 B arena on nucleo-l4r5zi) -> link error: $(grep -o 'RAM overflow on board nucleo-l4r5zi.*' "$dir-ovf.log" | head -1 | cut -c1-110)"
else
  fail "RAM overflow on nucleo-l4r5zi was not a link error naming the board: $(tail -3 "$dir-ovf.log")"
fi

echo "== bad input: clear error, non-zero exit =="
expect_fail() {  # expect_fail "what" "message regex" command...
  local what=$1 re=$2; shift 2
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ $rc -ne 0 ] && echo "$out" | grep -Eq "$re"; then pass "$what -> exit $rc: $(echo "$out" | grep -E "$re" | head -1 | cut -c1-150)"
  else fail "$what: exit $rc, output: $(echo "$out" | tail -3)"; fi
}
X=boards/common/demo_x.npy; Z=boards/common/demo_z.npy
expect_fail "corrupt model (one byte changed)" "not a valid MicroQuant model" "$SIMULATE" "$WORK/corrupt.mqm" --input $X --input $Z
expect_fail "truncated model" "not a valid MicroQuant model" "$SIMULATE" "$WORK/truncated.mqm" --input $X --input $Z
expect_fail "missing model file" "cannot read" "$SIMULATE" "$WORK/nonexistent.mqm"
expect_fail "wrong input shape" "wrong shape" "$SIMULATE" boards/common/demo.mqm --input $Z --input $Z
sed 's/|u1/|i1/' $X >"$WORK/x_int8.npy"
expect_fail "wrong input dtype (int8 codes for a uint8 input)" "cannot take" "$SIMULATE" boards/common/demo.mqm --input "$WORK/x_int8.npy" --input $Z
expect_fail "wrong number of inputs" "2 input" "$SIMULATE" boards/common/demo.mqm --input $X
mkdir -p "$WORK/tiny-boards/rpi-pico"
cp boards/CMakeLists.txt boards/runtime-size.json boards/cost-model.json "$WORK/tiny-boards/"
sed 's/"size": 2097152/"size": 16384/' boards/rpi-pico/board.json >"$WORK/tiny-boards/rpi-pico/board.json"
expect_fail "model too big for the board (rpi-pico with 16 KiB flash)" "does not fit" "$SIMULATE" boards/common/demo.mqm --board rpi-pico --boards-dir "$WORK/tiny-boards"
expect_fail "unknown board" "unknown board" "$SIMULATE" boards/common/demo.mqm --board no-such-board
expect_fail "--placement with an unknown value" "placement must be one of flash, flash-single-bank, ram" \
  "$SIMULATE" boards/common/demo.mqm --board nucleo-l4r5zi --placement sram
expect_fail "--placement flash-single-bank on a board without that flash mode" "board mps2-an386 has no single-bank flash read mode" \
  "$SIMULATE" boards/common/demo.mqm --board mps2-an386 --placement flash-single-bank
expect_fail "--qemu on a board QEMU does not emulate" "not emulated" "$SIMULATE" boards/common/demo.mqm --input $X --input $Z --board nucleo-l4r5zi --qemu
mkdir -p "$WORK/path-no-gcc" "$WORK/path-no-qemu"
for t in cmake qemu-system-arm; do ln -sf "$(command -v $t)" "$WORK/path-no-gcc/$t"; done
for t in cmake arm-none-eabi-gcc; do ln -sf "$(command -v $t)" "$WORK/path-no-qemu/$t"; done
expect_fail "missing toolchain (no arm-none-eabi-gcc in PATH)" "arm-none-eabi-gcc not found" \
  env PATH="$WORK/path-no-gcc" "$SIMULATE" boards/common/demo.mqm --input $X --input $Z --board mps2-an386 --qemu --work-dir "$WORK/fw-nogcc"
expect_fail "missing QEMU (no qemu-system-arm in PATH)" "qemu-system-arm not found" \
  env PATH="$WORK/path-no-qemu" "$SIMULATE" boards/common/demo.mqm --input $X --input $Z --board mps2-an386 --qemu --work-dir "$WORK/fw-noqemu"
# a stack reserve the run uses up (a copy of mps2-an386 with 1 KiB; the tree's cmake/ and csrc/ linked): the
# firmware paints the reserve, and simulate refuses outputs from a run that may have overflowed it
mkdir -p "$WORK/stack-root/boards"
ln -sfn "$PWD/cmake" "$WORK/stack-root/cmake"; ln -sfn "$PWD/csrc" "$WORK/stack-root/csrc"
cp -r boards/CMakeLists.txt boards/runtime-size.json boards/cost-model.json boards/cycle-model.json boards/common \
  boards/mps2-an386 "$WORK/stack-root/boards/"
sed -i 's/"stack_size": [0-9]*/"stack_size": 1024/' "$WORK/stack-root/boards/mps2-an386/board.json"
sed -i 's/__mq_stack_size = [0-9]*K;/__mq_stack_size = 1K;/' "$WORK/stack-root/boards/mps2-an386/mps2-an386.ld"
expect_fail "a run that uses the whole stack reserve (mps2-an386 with 1 KiB of stack)" "whole 1024 B stack reserve" \
  "$SIMULATE" boards/common/demo.mqm --input $X --input $Z --board mps2-an386 --qemu \
  --boards-dir "$WORK/stack-root/boards" --work-dir "$WORK/fw-stack"

echo "== runtime size table =="
./scripts/measure-runtime-size.sh --check | tail -1

echo "test-boards: $passes passed, $fails failed"
[ $fails -eq 0 ]
