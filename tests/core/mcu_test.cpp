#include "core/mcu.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/doc.h"
#include "core/error.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

using test_nets::error_of;

TEST(McuTest, ShipsTheDesignsTargets) {
  const auto names = known_mcus();
  for (const char* n : {"f412", "f746", "f765", "h743", "l552", "rp2040"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  for (const auto& n : names) EXPECT_NO_THROW(load_mcu(n)) << n;
}

TEST(McuTest, F412) {
  const McuTarget m = load_mcu("f412");
  EXPECT_EQ(m.core, "cortex-m4");
  EXPECT_TRUE(m.dsp);
  EXPECT_EQ(m.clock_hz, 100000000);
  EXPECT_EQ(m.flash_bytes, 1048576);
  EXPECT_EQ(m.sram_bytes, 262144);
  EXPECT_EQ(m.qemu_machine, "mps2-an386");
  EXPECT_GT(m.reserved_sram_bytes, 0);
  EXPECT_GT(m.latency[static_cast<int>(OpKind::kPointwiseConv2d)].per_mac, 0);
  EXPECT_EQ(m.flash_origin, 0x08000000);
}

TEST(McuTest, F765IsBudgetedBelowThePart) {
  const McuTarget m = load_mcu("f765");
  EXPECT_EQ(m.flash_bytes, 2 * 1048576);
  EXPECT_EQ(m.budget_flash_bytes, 1048576);
  EXPECT_EQ(m.budget_sram_bytes, 512 * 1024);
  const Budget b = budget_for(m);
  EXPECT_EQ(b.flash_bytes, 1048576);
  EXPECT_EQ(budget_for(m, 0, 256 * 1024).sram_bytes, 256 * 1024);
  EXPECT_EQ(budget_for(m, 0, 256 * 1024).flash_bytes, 1048576);
}

TEST(McuTest, NonDspCores) {
  EXPECT_FALSE(load_mcu("rp2040").dsp);
  EXPECT_EQ(load_mcu("rp2040").core, "cortex-m0plus");
  EXPECT_EQ(load_mcu("l552").core, "cortex-m33");
}

TEST(McuTest, UnknownMcuListsTheKnownOnes) {
  const std::string msg = error_of([] { load_mcu("f999"); });
  EXPECT_NE(msg.find("unknown MCU 'f999'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f412"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rp2040"), std::string::npos) << msg;
}

class McuFileTest : public ::testing::Test {
 protected:
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& text) {
    std::filesystem::create_directories(dir_);
    const std::string path = (dir_ / "board.yaml").string();
    std::ofstream(path) << text;
    return path;
  }
  std::string base() {
    std::ifstream in(std::string(TINYNAS_SOURCE_DIR) + "/configs/mcus/f412.yaml");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Removed after each test (tests of one process run one after another).
  const std::filesystem::path dir_ =
      std::filesystem::temp_directory_path() / ("tinynas_mcu_test_" + std::to_string(::getpid()));
};

TEST_F(McuFileTest, AShippedFileCopiedElsewhereLoadsByPath) {
  EXPECT_EQ(load_mcu(write(base())).name, "f412");
}

TEST_F(McuFileTest, BadSizeNamesFileLineAndKey) {
  std::string text = base();
  text.replace(text.find("sram: 256K\n"), 11, "sram: lots\n");
  const std::string path = write(text);
  const std::string msg = error_of([&] { load_mcu(path); });
  EXPECT_NE(msg.find(path + ":"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sram"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a size"), std::string::npos) << msg;
}

TEST_F(McuFileTest, MissingKeyAndUnknownCore) {
  std::string text = base();
  text.replace(text.find("core: cortex-m4"), 15, "core: cortex-a53");
  std::string msg = error_of([&] { load_mcu(write(text)); });
  EXPECT_NE(msg.find("unknown core 'cortex-a53'"), std::string::npos) << msg;

  text = base();
  text.replace(text.find("clock_mhz: 100"), 14, "");
  msg = error_of([&] { load_mcu(write(text)); });
  EXPECT_NE(msg.find("clock_mhz"), std::string::npos) << msg;

  text = base();
  // The code_bytes block's pointwise line (the first "  pointwise:" in the file).
  const size_t at = text.find("\n  pointwise: ") + 1;
  text.erase(at, text.find('\n', at) + 1 - at);
  msg = error_of([&] { load_mcu(write(text)); });
  EXPECT_NE(msg.find("pointwise"), std::string::npos) << msg;
}

TEST_F(McuFileTest, FromDocumentInMemoryAsFromTheFile) {
  const McuTarget m = mcu_from_document(parse_document(base(), "mem.yaml"));
  const McuTarget f = load_mcu("f412");
  EXPECT_EQ(m.source, "mem.yaml");
  EXPECT_EQ(m.name, f.name);
  EXPECT_EQ(m.sram_bytes, f.sram_bytes);
  EXPECT_EQ(m.kernel_code_bytes, f.kernel_code_bytes);
  EXPECT_EQ(m.latency[0].per_mac, f.latency[0].per_mac);

  std::string text = base();
  text.replace(text.find("sram: 256K\n"), 11, "sram: lots\n");
  const std::string msg = error_of([&] { mcu_from_document(parse_document(text, "mem.yaml")); });
  EXPECT_NE(msg.find("mem.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sram"), std::string::npos) << msg;
}

TEST_F(McuFileTest, MalformedYaml) {
  const std::string path = write("name: x\ncore: [cortex-m4\nclock_mhz: 1\n");
  const std::string msg = error_of([&] { load_mcu(path); });
  EXPECT_NE(msg.find(path + ":"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed YAML"), std::string::npos) << msg;
}

}  // namespace
}  // namespace tinynas
