#!/usr/bin/env bash
# Documentation check (part of ./scripts/test.sh): the example outputs in README.md and docs/*.md are what the
# commands print today, and every file the documented commands and the `--help` examples read exists.
#
#   ./scripts/check-docs.sh            # check; exits 1 naming the file, block and first differing line
#   ./scripts/check-docs.sh --update   # rewrite the example blocks from fresh runs (then review `git diff`)
#
# An example block is an indented (4 spaces) code block preceded by a marker line
#     <!-- check-docs -->
# whose lines starting with "$ " are commands (`swift run calibrate|simulate ...` runs the built binaries) and
# whose other lines are their output (stdout and stderr). A line "..." in the block stands for any number of
# output lines (elided progress, build logs). Numbers that vary run to run are masked before comparing:
# durations "<number> s" ("in 0.062 s", "build 1.0 s, run 0.2 s"). The fit-report table of docs/BOARDS.md
# (marker <!-- check-docs: fit-table -->) is regenerated from `simulate --board` for every board.
# Binaries: CALIBRATE / SIMULATE (default .build/debug/...; `swift build` first).
set -euo pipefail
cd "$(dirname "$0")/.."
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1
CALIBRATE=${CALIBRATE:-.build/debug/calibrate}
SIMULATE=${SIMULATE:-.build/debug/simulate}
for b in "$CALIBRATE" "$SIMULATE"; do [ -x "$b" ] || { echo "check-docs: $b not found (run swift build)"; exit 1; }; done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "  FAIL  $*"; failures=$((failures + 1)); }
pass() { echo "  ok    $*"; }

# Files written by the documented commands into the checkout (removed again unless they existed).
cleanup_list=()
for f in y.npy model.c; do [ -e "$f" ] || cleanup_list+=("$f"); done
trap 'rm -rf "$WORK"; for f in "${cleanup_list[@]:-}"; do [ -n "$f" ] && rm -f "$f"; done' EXIT

# mask: durations vary run to run
mask() { sed -E 's/[0-9]+(\.[0-9]+)? s\b/<t> s/g' | sed "s|$PWD/||g"; }

# run_cmd "swift run simulate ARGS": the built binary with ARGS, stdout + stderr
run_cmd() {
  local cmd=$1
  cmd=${cmd/#swift run calibrate/$CALIBRATE}
  cmd=${cmd/#swift run simulate/$SIMULATE}
  bash -c "$cmd" 2>&1 || true
}

# align EXPECTED ACTUAL -> the block rewritten with the actual lines, keeping the "..." elisions; lines are
# matched by their text without numbers (a changed number is a difference, a changed layout too).
align() {
  awk -v EXP="$1" -v ACT="$2" '
    function key(s) { gsub(/[-+0-9.,x%]+/, "", s); gsub(/[ \t]+/, " ", s); return s }
    BEGIN {
      n = 0; while ((getline l < EXP) > 0) E[++n] = l
      m = 0; while ((getline l < ACT) > 0) A[++m] = l
      j = 1
      for (i = 1; i <= n; i++) {
        if (E[i] == "...") {
          print "..."
          if (i == n) { j = m + 1; break }
          k = j; while (k <= m && key(A[k]) != key(E[i + 1])) k++
          if (k <= m) j = k
          continue
        }
        if (j <= m) { print A[j]; j++ } else print "<missing: " E[i] ">"
      }
      while (j <= m) { print A[j]; j++ }
    }'
}

# check_blocks FILE: every <!-- check-docs --> block of FILE
check_blocks() {
  local file=$1 out=$WORK/new.md
  : > "$out"
  local state=0 blockno=0 changed=0
  local -a block=()
  flush_block() {
    [ ${#block[@]} -eq 0 ] && return
    blockno=$((blockno + 1))
    local exp=$WORK/exp act=$WORK/act
    : > "$exp"; : > "$act"
    local line
    for line in "${block[@]}"; do
      line=${line#    }
      if [[ $line == '$ '* ]]; then
        run_cmd "${line#\$ }" >> "$act"
        echo "$line" >> "$exp.cmds"
      else
        echo "$line" >> "$exp"
      fi
    done
    # the new block: commands, then the aligned output
    local new=$WORK/newblock
    : > "$new"
    [ -f "$exp.cmds" ] && sed 's/^/    /' "$exp.cmds" >> "$new"
    align "$exp" "$act" | sed "s|$PWD/||g" | sed 's/^/    /; s/^    $//' >> "$new"  # the checkout path never goes into the docs
    local old=$WORK/oldblock
    printf '%s\n' "${block[@]}" > "$old"
    if diff -q <(mask < "$old") <(mask < "$new") >/dev/null; then
      pass "$file block $blockno ($(head -1 "$exp.cmds" 2>/dev/null | cut -c1-70))"
    else
      changed=1
      if [ $UPDATE = 1 ]; then echo "  update $file block $blockno"
      else
        fail "$file block $blockno ($(head -1 "$exp.cmds" 2>/dev/null | cut -c1-70)): the documented output differs from what the command prints:"
        diff <(mask < "$old") <(mask < "$new") | head -8 | sed 's/^/        /' || true
      fi
    fi
    cat "$new" >> "$out"
    rm -f "$exp.cmds"
    block=()
  }
  while IFS= read -r line || [ -n "$line" ]; do
    case $state in
      0) echo "$line" >> "$out"; [[ $line == '<!-- check-docs -->' ]] && state=1 ;;
      1) # the indented block after the marker (blank lines inside are kept)
         if [[ $line == '    '* ]] || { [ -z "$line" ] && [ ${#block[@]} -gt 0 ]; }; then block+=("$line")
         elif [ -z "$line" ] && [ ${#block[@]} -eq 0 ]; then echo "$line" >> "$out"
         else
           # drop trailing blank lines of the block, then flush
           local tail=0
           while [ ${#block[@]} -gt 0 ] && [ -z "${block[-1]}" ]; do unset 'block[-1]'; tail=$((tail + 1)); done
           flush_block
           for ((t = 0; t < tail; t++)); do echo >> "$out"; done
           echo "$line" >> "$out"; state=0
           [[ $line == '<!-- check-docs -->' ]] && state=1
         fi ;;
    esac
  done < "$file"
  if [ $state = 1 ]; then flush_block; fi
  if [ $UPDATE = 1 ] && [ $changed = 1 ]; then cp "$out" "$file"; fi
}

# the fit-report table of docs/BOARDS.md: one row per board from `simulate --board NAME`
fit_table() {
  echo "| board | flash (model + firmware) | RAM (arena + I/O + stack + static) | estimated latency |"
  echo "|---|---|---|---|"
  for b in mps2-an385 mps2-an386 mps2-an500 mps3-an547 nucleo-l4r5zi stm32f746g-disco nrf52840-dk rpi-pico; do
    "$SIMULATE" out/tinyconv.mqm --board "$b" > "$WORK/fit.txt" 2>&1 || true
    awk -v B="$b" '
      function commas(n,   s, r) { s = sprintf("%d", n); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } return s r }
      function human(k) { return (k % 1024 == 0) ? (k / 1024) " MiB" : k " KiB" }
      /^board / { for (i = 1; i <= NF; i++) { if ($i == "flash") fk = $(i + 1); if ($i == "RAM") rk = $(i + 1); if ($i ~ /^MHz/) mhz = $(i - 1) } }
      $1 == "total" && $2 == "(estimate)" { us = $3; next }
      $1 == "total" { t++; if (t == 1) ft = $2; else if (t == 2) rt = $2 }
      END {
        note = (B == "rpi-pico") ? " (M0+ coefficients are guesses)" : ""
        printf "| %s | %s B of %s | %s B of %s | %.2f ms @ %s MHz%s |\n", B, commas(ft), human(fk), commas(rt), human(rk), us / 1000, mhz, note
      }' "$WORK/fit.txt"
  done
}

check_fit_table() {
  local file=docs/BOARDS.md
  grep -q '<!-- check-docs: fit-table -->' "$file" || { fail "$file: no <!-- check-docs: fit-table --> marker"; return; }
  fit_table > "$WORK/table.new"
  awk '/<!-- check-docs: fit-table -->/ { on = 1; next } on && /^\|/ { print; next } on { exit }' "$file" > "$WORK/table.old"
  if diff -q "$WORK/table.old" "$WORK/table.new" >/dev/null; then pass "$file fit-report table (8 boards)"
  elif [ $UPDATE = 1 ]; then
    awk -v NEW="$WORK/table.new" '/<!-- check-docs: fit-table -->/ { print; while ((getline l < NEW) > 0) print l; skip = 1; next }
         skip && /^\|/ { next } { skip = 0; print }' "$file" > "$WORK/boards.md" && cp "$WORK/boards.md" "$file"
    echo "  update $file fit-report table"
  else
    fail "$file fit-report table differs from simulate --board:"; diff "$WORK/table.old" "$WORK/table.new" | head -6 | sed 's/^/        /' || true
  fi
}

# every input file named by a documented `swift run` command or a --help example exists
check_paths() {
  local src=$1 text=$2
  local missing=0
  while IFS= read -r line; do
    # words after the command; skip outputs (after -o/--output/--emit-c-array/--report/--eval-output/--work-dir)
    local prev="" w
    for w in $line; do
      case $prev in -o|--output|--emit-c-array|--report|--eval-output|--work-dir|--symbol|--board) prev=$w; continue ;; esac
      prev=$w
      [[ $w =~ \.(onnx|npy|npz|mqm|bin|tflite)$ ]] || continue
      [[ $w =~ (^|/)[A-Z][A-Z0-9_]*\. ]] && continue     # placeholders: MODEL.onnx, CALIB.npy, X.npy, X2.npy
      [ -e "$w" ] || { fail "$src: '$w' (in: $(echo "$line" | cut -c1-90)) does not exist"; missing=1; }
    done
  done < <(echo "$text" | grep -oE 'swift run (calibrate|simulate)[^`|]*' | sed -E 's/^swift run (calibrate|simulate)//')
  if [ $missing = 0 ]; then pass "$src: every file its commands read exists"; fi
}

echo "-- the bundled example (writes out/tinyconv.mqm, as the docs assume)"
"$CALIBRATE" -q > /dev/null 2>&1 || { fail "swift run calibrate (the bundled example) failed"; }
check_paths "simulate --help" "$("$SIMULATE" --help 2>&1)"
check_paths "calibrate --help" "$("$CALIBRATE" --help 2>&1)"
for f in README.md docs/*.md; do check_paths "$f" "$(cat "$f")"; done
for f in README.md docs/*.md; do
  grep -q '<!-- check-docs -->' "$f" && check_blocks "$f"
done
check_fit_table
if [ $failures -gt 0 ]; then
  echo "check-docs: $failures difference(s); regenerate with ./scripts/check-docs.sh --update and review git diff"
  exit 1
fi
echo "check-docs: documented outputs match"
