#!/usr/bin/env bash
# C core and runtime checks (part of the README test command, scripts/test.sh). Each build in its own dir under build/:
#   1. host gcc, Release: build library + cmocka tests, run them with ctest
#   2. host clang, MinSizeRel (-Os: the size-optimised microkernel form): same
#   3. ASan + UBSan (clang if available, else gcc; -fno-sanitize-recover=all): same
#   4. Arm cross builds of the device sources (csrc/src) for cortex-m0plus, m3, m4, m7, m33, m55 with
#      -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Werror (cmake/arm-none-eabi.cmake)
#   5. soft-float check: device sources compiled for -mcpu=cortex-m0plus -mfloat-abi=soft, linked into one
#      relocatable object; fails if any floating-point libgcc/libm routine is referenced
#   6. ./scripts/test-runtime.sh (runtime robustness + fuzzing; required)
# Exits non-zero if any step fails; the last line is a one-line summary. MQ_JOBS sets build parallelism (2).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${MQ_JOBS:-2}
B=$ROOT/build
mkdir -p "$B"
failures=()
passed=0
start=$(date +%s)

step() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    echo "-- ok: $name"
    passed=$((passed + 1))
  else
    echo "-- FAILED: $name"
    failures+=("$name")
  fi
}

host_suite() { # <build dir> <cc> [extra cmake args...]
  local dir=$1 cc=$2
  shift 2
  cmake -S csrc -B "$dir" -DCMAKE_C_COMPILER="$cc" "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$JOBS" || return 1
  ctest --test-dir "$dir" --output-on-failure -j"$JOBS"
}

cross_build() { # <cpu>
  local cpu=$1 dir=$B/arm-$1
  cmake -S csrc -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/arm-none-eabi.cmake" -DMQ_CPU="$cpu" \
    -DCMAKE_BUILD_TYPE=Release >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$JOBS" || return 1
  arm-none-eabi-size -t "$dir/libmicroquant.a" | tail -1 | awk -v c="$cpu" '{print "   " c ": text " $1 " B, data " $2 " B, bss " $3 " B (libmicroquant.a, -O2)"}'
}

# Undefined symbols that mean floating point on a soft-float core: __aeabi_f*/__aeabi_d* (fadd, dmul, f2iz,
# fcmpeq, ...), __aeabi_*2f/*2d/*2h (i2f, l2d, ...), the generic libgcc names (__addsf3, __floatsisf, __fixdfsi,
# __extendsfdf2, __eqsf2, __unorddf2, __powisf2 ...) and libm.
FLOAT_SYMS='^(__aeabi_[fd][a-z0-9]*|__aeabi_[a-z0-9]*2[fdh]|__aeabi_h2f|__gnu_[hf]2[a-z0-9]*|__[a-z]+[sdtxh]f[0-9]?|(sin|cos|tan|exp|exp2|expm1|log|log1p|log2|log10|pow|sqrt|floor|ceil|round|lround|llround|rint|lrint|nearbyint|trunc|fabs|fmod|frexp|ldexp|scalbn|tanh|sinh|cosh|erf|erfc|fma|fmin|fmax|hypot|cbrt|atan|atan2|asin|acos)[fl]?)$'

float_refs() { # <relocatable object>: print referenced floating-point helpers
  arm-none-eabi-nm -u "$1" | awk '{print $NF}' | grep -E "$FLOAT_SYMS" || true
}

softfloat_check() {
  local dir=$B/softfloat-m0plus opt f refs
  local cflags=(-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Werror
                -ffunction-sections -fdata-sections -Icsrc/include -Icsrc/src)
  rm -rf "$dir"
  mkdir -p "$dir"
  # Self-test: the detector must flag a file that does float and double arithmetic.
  printf 'float mq_probe_f(float a, int b) { return a * (float)b; }\ndouble mq_probe_d(double a) { return a / 3.0; }\n' >"$dir/probe.c"
  arm-none-eabi-gcc "${cflags[@]}" -O2 -c "$dir/probe.c" -o "$dir/probe.o" || return 1
  refs=$(float_refs "$dir/probe.o")
  if [ -z "$refs" ]; then
    echo "soft-float detector self-test failed: float helpers not detected in probe.o"
    return 1
  fi
  echo "   detector self-test: probe.o references $(echo "$refs" | tr '\n' ' ')"
  for opt in -O0 -O2 -Os; do
    local objs=()
    for f in $(find csrc/src -name "*.c" | sort); do
      local o=$dir/$(basename "$f" .c)$opt.o
      arm-none-eabi-gcc "${cflags[@]}" "$opt" -c "$f" -o "$o" || return 1
      objs+=("$o")
    done
    arm-none-eabi-ld -r -o "$dir/device$opt.o" "${objs[@]}" || return 1
    refs=$(float_refs "$dir/device$opt.o")
    if [ -n "$refs" ]; then
      echo "device sources ($opt) reference floating-point helpers on cortex-m0plus soft-float:"
      echo "$refs" | sed 's/^/     /'
      for o in "${objs[@]}"; do
        local r
        r=$(float_refs "$o")
        [ -n "$r" ] && echo "     in $(basename "$o"): $(echo "$r" | tr '\n' ' ')"
      done
      return 1
    fi
    echo "   $opt: ${#objs[@]} device objects, no floating-point helper referenced"
  done
}

if ! command -v cmake >/dev/null; then
  echo "test-c.sh: cmake not found (Debian: apt-get install cmake)"
  exit 1
fi

step "host gcc Release: build + cmocka tests" host_suite "$B/c-gcc" gcc -DCMAKE_BUILD_TYPE=Release

if command -v clang >/dev/null; then
  # MinSizeRel (-Os) here: covers the size-optimised form of the portable GEMM microkernel (__OPTIMIZE_SIZE__)
  step "host clang MinSizeRel (-Os): build + cmocka tests" host_suite "$B/c-clang" clang -DCMAKE_BUILD_TYPE=MinSizeRel
  SAN_CC=clang
else
  echo "== host clang: clang not found in PATH"
  failures+=("host clang (clang not found)")
  SAN_CC=gcc
fi

# Swift's clang links through ld.gold by default, which prints hundreds of harmless ASan symbol warnings: use bfd.
SAN_LINK=()
if [ "$SAN_CC" = clang ] && command -v ld.bfd >/dev/null; then
  SAN_LINK=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=bfd)
fi
step "ASan+UBSan ($SAN_CC): build + cmocka tests" host_suite "$B/c-asan" "$SAN_CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMQ_SANITIZE=address,undefined "${SAN_LINK[@]}"

if command -v arm-none-eabi-gcc >/dev/null; then
  for cpu in cortex-m0plus cortex-m3 cortex-m4 cortex-m7 cortex-m33 cortex-m55; do
    step "Arm cross build $cpu (-Werror)" cross_build "$cpu"
  done
  step "soft-float check (cortex-m0plus, -mfloat-abi=soft)" softfloat_check
else
  echo "== Arm cross builds: arm-none-eabi-gcc not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
  failures+=("Arm cross builds (arm-none-eabi-gcc not found)")
fi

# The runtime's robustness + fuzzing script (issue 3). Required: a missing script is a failure.
if [ -x scripts/test-runtime.sh ]; then
  step "runtime robustness + fuzz (scripts/test-runtime.sh)" ./scripts/test-runtime.sh
else
  echo "== scripts/test-runtime.sh missing or not executable"
  failures+=("runtime robustness + fuzz (scripts/test-runtime.sh missing)")
fi

elapsed=$(( $(date +%s) - start ))
if [ ${#failures[@]} -ne 0 ]; then
  echo "test-c.sh: FAILED ${#failures[@]} step(s) ($passed passed, ${elapsed}s):"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
echo "test-c.sh: all $passed steps passed (${elapsed}s)"
