#include "core/size.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace tinynas {
namespace {

TEST(SizeTest, BinaryUnitsAsOnTheCommandLine) {
  EXPECT_EQ(parse_size("1M", "--flash"), 1048576);
  EXPECT_EQ(parse_size("256K", "--sram"), 262144);
  EXPECT_EQ(parse_size("320KB", "--sram"), 320 * 1024);
  EXPECT_EQ(parse_size("320kB", "--sram"), 320 * 1024);
  EXPECT_EQ(parse_size("2MB", "--flash"), 2 * 1048576);
  EXPECT_EQ(parse_size("2MiB", "--flash"), 2 * 1048576);
  EXPECT_EQ(parse_size("512KiB", "--sram"), 512 * 1024);
  EXPECT_EQ(parse_size("262144", "--sram"), 262144);
  EXPECT_EQ(parse_size("262144B", "--sram"), 262144);
  EXPECT_EQ(parse_size(" 64 K ", "--sram"), 65536);
  EXPECT_EQ(parse_size("1.5M", "--flash"), 1572864);
  EXPECT_EQ(parse_size("1G", "--flash"), int64_t{1} << 30);
}

void expect_rejected(const std::string& text, const std::string& what) {
  try {
    parse_size(text, what);
    FAIL() << "'" << text << "' was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_NE(msg.find("'" + text + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("256K"), std::string::npos) << "message should show an example: " << msg;
  }
}

TEST(SizeTest, RejectsAnythingElseNamingTheFlag) {
  expect_rejected("256X", "--sram");
  expect_rejected("", "--sram");
  expect_rejected("K", "--flash");
  expect_rejected("-1M", "--flash");
  expect_rejected("1 M B", "--flash");
  expect_rejected("0.3", "--flash");      // not a whole number of bytes
  expect_rejected("1e3K", "--flash");
  expect_rejected("12TB", "--flash");
  expect_rejected("1.2.3K", "--flash");
}

TEST(SizeTest, FormatsForHumans) {
  EXPECT_EQ(format_size(262144), "256.0 KiB");
  EXPECT_EQ(format_size(1048576), "1.00 MiB");
  EXPECT_EQ(format_size(100), "100 B");
}

}  // namespace
}  // namespace tinynas
