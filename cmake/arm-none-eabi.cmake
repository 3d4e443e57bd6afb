# CMake toolchain file for tinynas firmware (arm-none-eabi-gcc + newlib-nano),
# for users who build the generated model and deploy/firmware/ with their own
# CMake project instead of `tinynas deploy`:
#
#   cmake -S my_fw -B build-fw -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=/path/to/tinynas/cmake/arm-none-eabi.cmake \
#         -DTINYNAS_CORE=cortex-m7
#
# It sets the compiler and the same per-core flags as the C++ firmware builder
# (deploy/board/firmware_build.cpp: core_flags), with -nostartfiles because
# deploy/firmware/startup.c is the entry point. The project still supplies the
# linker script (-T), e.g. deploy/firmware/linker.ld.in filled by
# configure_file(... @ONLY); see deploy/firmware/README.md.
#
# The compiler comes from $TINYNAS_ARM_GCC, else arm-none-eabi-gcc on PATH
# (Debian: gcc-arm-none-eabi and libnewlib-arm-none-eabi).

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(TINYNAS_CORE "cortex-m4" CACHE STRING
    "Cortex-M core: cortex-m0plus, cortex-m3, cortex-m4, cortex-m7, cortex-m33, cortex-m55")
set_property(CACHE TINYNAS_CORE PROPERTY STRINGS
             cortex-m0plus cortex-m3 cortex-m4 cortex-m7 cortex-m33 cortex-m55)
# try_compile projects re-read this file: hand them the core too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TINYNAS_CORE)

if(DEFINED ENV{TINYNAS_ARM_GCC} AND NOT "$ENV{TINYNAS_ARM_GCC}" STREQUAL "")
  set(_tinynas_gcc "$ENV{TINYNAS_ARM_GCC}")
else()
  find_program(_tinynas_gcc arm-none-eabi-gcc)
endif()
if(NOT _tinynas_gcc)
  message(FATAL_ERROR
    "arm-none-eabi-gcc not found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi")
endif()
get_filename_component(_tinynas_bin "${_tinynas_gcc}" DIRECTORY)
string(REGEX REPLACE "gcc$" "" _tinynas_prefix "${_tinynas_gcc}")

set(CMAKE_C_COMPILER "${_tinynas_gcc}")
set(CMAKE_CXX_COMPILER "${_tinynas_prefix}g++")
set(CMAKE_ASM_COMPILER "${_tinynas_gcc}")
set(CMAKE_OBJCOPY "${_tinynas_prefix}objcopy" CACHE FILEPATH "objcopy")
set(CMAKE_SIZE "${_tinynas_prefix}size" CACHE FILEPATH "size")

# Bare metal: a test executable cannot link without a linker script and
# startup code, so CMake's compiler checks build a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

if(TINYNAS_CORE STREQUAL "cortex-m4")
  set(_tinynas_cpu "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
elseif(TINYNAS_CORE STREQUAL "cortex-m7")
  set(_tinynas_cpu "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard")
elseif(TINYNAS_CORE STREQUAL "cortex-m33")
  set(_tinynas_cpu "-mcpu=cortex-m33 -mfpu=fpv5-sp-d16 -mfloat-abi=hard")
elseif(TINYNAS_CORE STREQUAL "cortex-m55")
  set(_tinynas_cpu "-mcpu=cortex-m55 -mfloat-abi=hard")
elseif(TINYNAS_CORE STREQUAL "cortex-m0plus")
  set(_tinynas_cpu "-mcpu=cortex-m0plus -mfloat-abi=soft")
elseif(TINYNAS_CORE STREQUAL "cortex-m3")
  set(_tinynas_cpu "-mcpu=cortex-m3 -mfloat-abi=soft")
else()
  message(FATAL_ERROR "TINYNAS_CORE=${TINYNAS_CORE}: expected cortex-m0plus, cortex-m3, "
                      "cortex-m4, cortex-m7, cortex-m33 or cortex-m55")
endif()

set(_tinynas_common "${_tinynas_cpu} -mthumb -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${_tinynas_common}")
set(CMAKE_CXX_FLAGS_INIT "${_tinynas_common} -fno-exceptions -fno-rtti")
set(CMAKE_ASM_FLAGS_INIT "${_tinynas_cpu} -mthumb")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostartfiles --specs=nano.specs -Wl,--gc-sections")
set(CMAKE_C_FLAGS_RELEASE_INIT "-O2")
set(CMAKE_EXECUTABLE_SUFFIX_C ".elf")
set(CMAKE_EXECUTABLE_SUFFIX_CXX ".elf")

# Libraries and headers come from the toolchain's sysroot, programs from the host.
set(CMAKE_FIND_ROOT_PATH "${_tinynas_bin}/../arm-none-eabi")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
