# MicroQuant: CMake toolchain file for bare-metal Arm Cortex-M with arm-none-eabi-gcc.
# Shared by csrc/ (device-only library build), boards/ and bench/.
#
#   cmake -S csrc -B build/arm-m4 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DMQ_CPU=cortex-m4
#
# MQ_CPU selects the core and its floating-point ABI:
#   cortex-m0plus  -mfloat-abi=soft                         (ARMv6-M, no FPU)
#   cortex-m3      -mfloat-abi=soft                         (ARMv7-M, no FPU)
#   cortex-m4      -mfpu=fpv4-sp-d16 -mfloat-abi=hard       (ARMv7E-M, DSP, single-precision FPU)
#   cortex-m7      -mfpu=fpv5-d16    -mfloat-abi=hard       (ARMv7E-M, DSP, double-precision FPU)
#   cortex-m33     -mfpu=fpv5-sp-d16 -mfloat-abi=hard       (ARMv8-M mainline, DSP)
#   cortex-m55     -mfloat-abi=hard                         (ARMv8.1-M, DSP + Helium/MVE: gcc 12 enables MVE
#                                                            and its FPU from -mcpu=cortex-m55)
# After inclusion MQ_ARCH_FLAGS holds the -mcpu/-mthumb/-mfpu/-mfloat-abi flags (also pass them when linking
# by hand); they are added to CMAKE_<LANG>_FLAGS_INIT, so every target and link line gets them.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

if(NOT MQ_CPU)
  set(MQ_CPU "$ENV{MQ_CPU}")
endif()
if(NOT MQ_CPU)
  set(MQ_CPU cortex-m4)
endif()
set(MQ_CPU "${MQ_CPU}" CACHE STRING "Target core: cortex-m0plus|cortex-m3|cortex-m4|cortex-m7|cortex-m33|cortex-m55")
# try_compile projects re-read this file: forward the core to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MQ_CPU)

if(MQ_CPU STREQUAL "cortex-m0plus" OR MQ_CPU STREQUAL "cortex-m3")
  set(MQ_FPU_FLAGS "-mfloat-abi=soft")
elseif(MQ_CPU STREQUAL "cortex-m4")
  set(MQ_FPU_FLAGS "-mfpu=fpv4-sp-d16 -mfloat-abi=hard")
elseif(MQ_CPU STREQUAL "cortex-m7")
  set(MQ_FPU_FLAGS "-mfpu=fpv5-d16 -mfloat-abi=hard")
elseif(MQ_CPU STREQUAL "cortex-m33")
  set(MQ_FPU_FLAGS "-mfpu=fpv5-sp-d16 -mfloat-abi=hard")
elseif(MQ_CPU STREQUAL "cortex-m55")
  set(MQ_FPU_FLAGS "-mfloat-abi=hard")
else()
  message(FATAL_ERROR "arm-none-eabi.cmake: unsupported MQ_CPU='${MQ_CPU}' "
                      "(expected cortex-m0plus, cortex-m3, cortex-m4, cortex-m7, cortex-m33 or cortex-m55)")
endif()
set(MQ_ARCH_FLAGS "-mcpu=${MQ_CPU} -mthumb ${MQ_FPU_FLAGS}")

set(MQ_ARM_PREFIX "arm-none-eabi-" CACHE STRING "Cross tool prefix")
find_program(MQ_ARM_GCC ${MQ_ARM_PREFIX}gcc)
if(NOT MQ_ARM_GCC)
  message(FATAL_ERROR "arm-none-eabi.cmake: ${MQ_ARM_PREFIX}gcc not found in PATH "
                      "(Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
endif()
get_filename_component(MQ_ARM_BIN "${MQ_ARM_GCC}" DIRECTORY)

set(CMAKE_C_COMPILER "${MQ_ARM_BIN}/${MQ_ARM_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${MQ_ARM_BIN}/${MQ_ARM_PREFIX}g++")
set(CMAKE_ASM_COMPILER "${MQ_ARM_BIN}/${MQ_ARM_PREFIX}gcc")
set(CMAKE_AR "${MQ_ARM_BIN}/${MQ_ARM_PREFIX}ar" CACHE FILEPATH "")
set(CMAKE_RANLIB "${MQ_ARM_BIN}/${MQ_ARM_PREFIX}ranlib" CACHE FILEPATH "")
set(CMAKE_OBJCOPY "${MQ_ARM_BIN}/${MQ_ARM_PREFIX}objcopy" CACHE FILEPATH "")
set(CMAKE_SIZE "${MQ_ARM_BIN}/${MQ_ARM_PREFIX}size" CACHE FILEPATH "")

set(CMAKE_C_FLAGS_INIT "${MQ_ARCH_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${MQ_ARCH_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${MQ_ARCH_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${MQ_ARCH_FLAGS} -Wl,--gc-sections")

# No OS to run test executables: compiler checks build a static library instead of linking.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
