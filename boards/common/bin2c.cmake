# MicroQuant: write a binary file as a C99 array (the "C array" way of embedding a model).
#   cmake -DIN=model.mqm -DOUT=model.c -DSYMBOL=mq_fw_model [-DSECTION=.data.mq_fw_model] -P boards/common/bin2c.cmake
# SECTION (optional): put the array in this section (.data.NAME: RAM, copied at start-up; boards/CMakeLists.txt
# MQ_MODEL_IN_RAM); default: the compiler's choice for a const array (.rodata, flash).
# Output (same layout as `swift run simulate MODEL --emit-c-array OUT.c --symbol NAME`):
#   const uint8_t NAME[] __attribute__((aligned(16))) = { 0x.., ... };
#   const uint32_t NAME_size = <bytes>;
if(NOT IN OR NOT OUT OR NOT SYMBOL)
  message(FATAL_ERROR "bin2c.cmake: pass -DIN=<file> -DOUT=<file.c> -DSYMBOL=<C identifier>")
endif()
if(NOT EXISTS "${IN}")
  message(FATAL_ERROR "bin2c.cmake: input file '${IN}' does not exist")
endif()
file(SIZE "${IN}" size)
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes (80 characters) per line
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " bytes "${bytes}")
if(size EQUAL 0)
  set(bytes "0x00")
endif()
get_filename_component(name "${IN}" NAME)
set(attr "")
if(SECTION AND NOT SECTION MATCHES "^\\.rodata")
  set(attr ", section(\"${SECTION}\")")
endif()
file(WRITE "${OUT}.tmp"
"/* Generated from ${name} by boards/common/bin2c.cmake: do not edit. */\n"
"#include <stdint.h>\n\n"
"const uint8_t ${SYMBOL}[] __attribute__((aligned(16)${attr})) = {\n    ${bytes}\n};\n"
"const uint32_t ${SYMBOL}_size = ${size}u;\n")
file(RENAME "${OUT}.tmp" "${OUT}")
